//! Repeats a measurement within a run and time budget, and summarises it as median and minimum.

use std::time::{Duration, Instant};

/// How often to repeat each measurement.
#[derive(Debug, Clone, Copy)]
pub struct Repeat {
    /// Runs before the measured ones (page cache, lazily built state): not recorded.
    pub warmup: usize,
    pub min_runs: usize,
    pub max_runs: usize,
    /// Stop after `max_runs`, or earlier once this much time went into measured runs.
    pub budget: Duration,
}

impl Repeat {
    /// `cargo bench`: up to 10 runs or 2 s, at least 3.
    pub const BENCH: Repeat = Repeat { warmup: 1, min_runs: 3, max_runs: 10, budget: Duration::from_secs(2) };
    /// `cargo test --all-targets` runs the bench too: once each, just to prove every path still works.
    pub const SMOKE: Repeat = Repeat { warmup: 0, min_runs: 1, max_runs: 1, budget: Duration::ZERO };
}

/// The measured durations of one measurement.
#[derive(Debug, Clone)]
pub struct Samples(Vec<Duration>);

impl Samples {
    pub fn new(mut durations: Vec<Duration>) -> Samples {
        assert!(!durations.is_empty(), "a measurement with no samples");
        durations.sort();
        Samples(durations)
    }

    pub fn median(&self) -> Duration {
        let n = self.0.len();
        if n % 2 == 1 {
            self.0[n / 2]
        } else {
            (self.0[n / 2 - 1] + self.0[n / 2]) / 2
        }
    }

    pub fn min(&self) -> Duration {
        self.0[0]
    }

    pub fn runs(&self) -> usize {
        self.0.len()
    }

    /// `12.3 (min 11.9)`, in milliseconds.
    pub fn cell(&self) -> String {
        format!("{} (min {})", ms(self.median()), ms(self.min()))
    }
}

/// Runs `measure` per `repeat`; `measure` times itself, so its setup and cleanup stay outside.
pub fn repeat(repeat: Repeat, mut measure: impl FnMut() -> Duration) -> Samples {
    for _ in 0..repeat.warmup {
        measure();
    }
    let mut durations = Vec::new();
    let mut spent = Duration::ZERO;
    while durations.len() < repeat.max_runs && (durations.len() < repeat.min_runs || spent < repeat.budget) {
        let d = measure();
        spent += d;
        durations.push(d);
    }
    Samples::new(durations)
}

/// Times one call.
pub fn time<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let start = Instant::now();
    let out = f();
    (start.elapsed(), out)
}

pub fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms < 10.0 {
        format!("{ms:.2}")
    } else if ms < 100.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.0}")
    }
}

/// `a / b` as `1.7x`, with enough digits that a small ratio does not read as zero.
pub fn ratio(a: Duration, b: Duration) -> String {
    let r = a.as_secs_f64() / b.as_secs_f64();
    match r {
        r if r < 0.1 => format!("{r:.3}x"),
        r if r < 1.0 => format!("{r:.2}x"),
        r => format!("{r:.1}x"),
    }
}
