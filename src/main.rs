use std::process::ExitCode;

/// mimalloc rather than glibc's malloc: a render builds and drops many small strings, maps and
/// values paths, and glibc's allocator took a third of the overlay's time (`perf`, 100 subcharts).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Values nested up to go-yaml's 10,000 levels recurse through parsing, coalescing, templates and
/// printing; the main thread's 8 MiB stack is too small for that, so the command runs on a
/// thread with a larger one (address space reserved, touched only as deep input needs it).
const STACK_BYTES: usize = 256 * 1024 * 1024;

fn main() -> ExitCode {
    match std::thread::Builder::new().stack_size(STACK_BYTES).spawn(helm_retarget::run) {
        // A panic has already been reported on stderr; exit as a panicking main would.
        Ok(command) => command.join().unwrap_or(ExitCode::from(101)),
        Err(_) => helm_retarget::run(),
    }
}
