//! Progress on stderr, shown only once a run has taken about a second (and
//! only on a terminal: indicatif hides itself otherwise).

use indicatif::{ProgressBar, ProgressStyle};
use route_optim::solver::Progress;
use std::io::{self, Write};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

const SHOW_AFTER: Duration = Duration::from_secs(1);

/// The bar of the run in progress, which log lines are written around.
static CURRENT: Mutex<Weak<Bar>> = Mutex::new(Weak::new());

/// Stderr for log lines: with the bar of the run in progress hidden while
/// each is written, so that a warning never lands on the bar's line.
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let bar = CURRENT.lock().unwrap_or_else(PoisonError::into_inner).upgrade();
        match bar {
            Some(bar) => bar.suspend(|| io::stderr().write(buf)),
            None => io::stderr().write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

/// What the bar shows. The first report of a solve or of a stream decides
/// it for the rest of the run; until one comes, a spinner.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// No report yet: a large instance is still being built (the greedy
    /// tour and the first local search of 10^6 points take seconds).
    Working,
    /// One long solve with a time limit: time used of the limit, the tour
    /// length and the time left.
    Solve,
    /// One long solve without a time limit (`--iterations`): the tour length.
    Search,
    /// A stream: records answered so far.
    Records,
}

pub struct Bar {
    t0: Instant,
    /// The bar once shown, and whether the run has finished (nothing is
    /// shown after that).
    shown: Mutex<(Option<(ProgressBar, Kind)>, bool)>,
}

impl Bar {
    /// A bar for one run, which starts now.
    pub fn new() -> Arc<Bar> {
        let bar = Arc::new(Bar { t0: Instant::now(), shown: Mutex::new((None, false)) });
        let weak = Arc::downgrade(&bar);
        *CURRENT.lock().unwrap_or_else(PoisonError::into_inner) = weak.clone();
        std::thread::spawn(move || {
            std::thread::sleep(SHOW_AFTER);
            if let Some(bar) = weak.upgrade() {
                bar.show(Kind::Working, |_| {});
            }
        });
        bar
    }

    /// Shows the bar as `kind` unless it shows another kind already (a
    /// spinner gives way to the first report), then updates it.
    fn show(&self, kind: Kind, update: impl FnOnce(&ProgressBar)) {
        let mut guard = self.shown.lock().unwrap_or_else(PoisonError::into_inner);
        let (shown, finished) = &mut *guard;
        if *finished {
            return;
        }
        match shown {
            Some((_, k)) if *k == kind => {}
            Some((_, k)) if *k != Kind::Working || kind == Kind::Working => return,
            _ => {
                // Its clock starts with the run, not when it first shows.
                let bar = shown
                    .take()
                    .map_or_else(|| ProgressBar::new_spinner().with_elapsed(self.t0.elapsed()), |(bar, _)| bar);
                // The time left and the rate are computed here, not by
                // indicatif's estimator: the bar first shows a second into
                // the run, and its position would jump from 0 to there.
                let template = match kind {
                    Kind::Working => "{spinner} {elapsed:>4} solving",
                    Kind::Solve => "{spinner} {elapsed:>4} [{bar:30}] {msg}",
                    Kind::Search | Kind::Records => "{spinner} {elapsed:>4} {msg}",
                };
                bar.set_style(ProgressStyle::with_template(template).expect("static template").progress_chars("=> "));
                if kind == Kind::Working {
                    bar.enable_steady_tick(Duration::from_millis(100));
                }
                *shown = Some((bar, kind));
            }
        }
        if let Some((bar, _)) = shown {
            update(bar);
        }
    }

    /// A callback for one long solve: time used of the limit, and the tour length.
    pub fn solve_callback(self: &Arc<Self>) -> Arc<dyn Fn(Progress) + Send + Sync> {
        let me = Arc::clone(self);
        Arc::new(move |p: Progress| {
            if p.elapsed < SHOW_AFTER {
                return;
            }
            match p.limit {
                Some(limit) => me.show(Kind::Solve, |bar| {
                    let left = limit.saturating_sub(p.elapsed).as_secs_f64();
                    bar.set_message(format!("length {:.1}, {left:.1}s left", p.length));
                    bar.set_length(limit.as_millis().max(1) as u64);
                    bar.set_position(p.elapsed.as_millis() as u64);
                }),
                None => me.show(Kind::Search, |bar| bar.set_message(format!("length {:.1}", p.length))),
            }
        })
    }

    /// Records answered so far in a stream.
    pub fn records(&self, done: u64) {
        let secs = self.t0.elapsed().as_secs_f64();
        if secs < SHOW_AFTER.as_secs_f64() {
            return;
        }
        self.show(Kind::Records, |bar| bar.set_message(format!("{done} records ({:.0}/s)", done as f64 / secs)));
    }

    /// Runs `f` (a write to the terminal) with the bar hidden, then draws
    /// the bar again, so that output and bar never share a line.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        // Held throughout, so that the bar cannot first appear mid-write.
        let guard = self.shown.lock().unwrap_or_else(PoisonError::into_inner);
        match &guard.0 {
            Some((bar, _)) => bar.suspend(f),
            None => f(),
        }
    }

    /// Clears the bar; nothing is shown after this.
    pub fn finish(&self) {
        let mut guard = self.shown.lock().unwrap_or_else(PoisonError::into_inner);
        guard.1 = true;
        if let Some((bar, _)) = guard.0.take() {
            bar.finish_and_clear();
        }
    }
}
