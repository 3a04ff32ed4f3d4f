//! Progress on stderr, shown only once a run has taken about a second (and
//! only on a terminal: indicatif hides itself otherwise).

use indicatif::{ProgressBar, ProgressStyle};
use route_optim::solver::Progress;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

const SHOW_AFTER: Duration = Duration::from_secs(1);

pub struct Bar {
    t0: Instant,
    bar: OnceLock<ProgressBar>,
}

impl Bar {
    pub fn new() -> Arc<Bar> {
        Arc::new(Bar { t0: Instant::now(), bar: OnceLock::new() })
    }

    /// A callback for one long solve: time used of the limit, and the tour length.
    pub fn solve_callback(self: &Arc<Self>) -> Arc<dyn Fn(Progress) + Send + Sync> {
        let me = Arc::clone(self);
        Arc::new(move |p: Progress| {
            if p.elapsed < SHOW_AFTER {
                return;
            }
            let bar = me.bar.get_or_init(|| {
                let bar = ProgressBar::new(p.limit.map_or(0, |l| l.as_millis() as u64));
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {elapsed:>4} [{bar:30}] {msg}, {eta} left")
                        .expect("static template")
                        .progress_chars("=> "),
                );
                bar
            });
            bar.set_position(p.elapsed.as_millis() as u64);
            bar.set_message(format!("length {:.1}", p.length));
        })
    }

    /// Records answered so far in a stream.
    pub fn records(&self, done: u64) {
        if self.t0.elapsed() < SHOW_AFTER {
            return;
        }
        let bar = self.bar.get_or_init(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {elapsed:>4} {pos} records ({per_sec})")
                    .expect("static template"),
            );
            bar
        });
        bar.set_position(done);
    }

    pub fn finish(&self) {
        if let Some(bar) = self.bar.get() {
            bar.finish_and_clear();
        }
    }
}
