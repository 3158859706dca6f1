//! Work spread over the cores: renders of independent charts run on worker threads and come back
//! in job order, so output never depends on scheduling.

/// Worker threads a render uses: the machine's cores (at most 8; each thread costs a context).
pub(super) fn workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
}

/// Below this many templates a render stays on the calling thread: starting a worker costs about
/// what rendering three or four templates does (measured on the fixtures: 10 of 51 ms of CPU for
/// the bitnami-style chart, whose renders hold six templates), and most of the planner's partial
/// re-renders hold a handful.
pub(super) const MIN_PARALLEL_TEMPLATES: usize = 16;

/// `work(0..jobs)` spread over the cores, results in job order whatever the scheduling. The
/// calling thread works too; with one job, one core, or less than `MIN_PARALLEL_TEMPLATES`
/// templates in all (`templates`) nothing is spawned.
pub(super) fn in_parallel<T: Send>(jobs: usize, templates: usize, work: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let threads = if templates < MIN_PARALLEL_TEMPLATES { 1 } else { workers().min(jobs) };
    if threads <= 1 {
        return (0..jobs).map(work).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let run = || {
        let mut done = Vec::new();
        loop {
            let job = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if job >= jobs {
                return done;
            }
            done.push((job, work(job)));
        }
    };
    let mut results: Vec<(usize, T)> = std::thread::scope(|scope| {
        // The command thread's stack size (src/main.rs): deep values trees recurse as they would there.
        let spawned: Vec<_> = (1..threads)
            // A thread that cannot be spawned leaves its share to the others.
            .filter_map(|_| std::thread::Builder::new().stack_size(WORKER_STACK).spawn_scoped(scope, run).ok())
            .collect();
        let mut all = run();
        for handle in spawned {
            all.extend(handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)));
        }
        all
    });
    results.sort_by_key(|(job, _)| *job);
    results.into_iter().map(|(_, t)| t).collect()
}

/// Stack of a render thread, as the command thread's (src/main.rs): values nested to go-yaml's
/// 10,000 levels recurse through wrapping and templates (address space reserved, touched only as
/// deep input needs it).
const WORKER_STACK: usize = 256 << 20;
