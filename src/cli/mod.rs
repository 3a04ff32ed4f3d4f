//! Subcommands of the `route-optim` binary.

pub mod bench;
pub mod gen;
pub mod info;
pub mod lambda;
pub mod progress;
pub mod solve;
pub mod worker;

use anyhow::Context;
use progress::Bar;
use route_optim::solver::{Backend, Engine};
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The Kinesis client of both stream front ends, from the standard AWS
/// environment. The SDK puts no time limit on a call, so an endpoint that
/// stops answering would hold a shard's reader, or the writer, for ever: here
/// an attempt ends after 10 s and a call, retries included, after 30 s, and
/// the caller's own retry takes over.
pub async fn kinesis_client() -> aws_sdk_kinesis::Client {
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(3))
        .operation_attempt_timeout(std::time::Duration::from_secs(10))
        .operation_timeout(std::time::Duration::from_secs(30))
        .build();
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest()).timeout_config(timeouts).load().await;
    aws_sdk_kinesis::Client::new(&config)
}

/// Set once a write to standard output has failed with a broken pipe.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Whether standard output was closed by its reader (`| head -1`): `main`
/// then ends quietly with status 0, as ripgrep does, since nobody wants
/// the rest of the output.
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::Relaxed)
}

/// Standard output, checked: every subcommand writes its results through
/// this (never `println!`, which panics on a closed pipe). A broken pipe is
/// returned as the error it is and remembered for [`stdout_closed`]. With a
/// progress bar on the same terminal, the bar is hidden for each write, so
/// output lines never mix with it. Line-buffered like `println!`; wrap it in
/// a `BufWriter` for bulk output.
pub struct Stdout {
    inner: io::Stdout,
    bar: Option<Arc<Bar>>,
}

impl Stdout {
    /// Plain standard output.
    pub fn plain() -> Stdout {
        Stdout { inner: io::stdout(), bar: None }
    }

    /// Standard output that hides `bar` while it writes, when standard
    /// output is a terminal (where the bar is drawn too).
    pub fn with_bar(bar: &Arc<Bar>) -> Stdout {
        let inner = io::stdout();
        let bar = io::IsTerminal::is_terminal(&inner).then(|| Arc::clone(bar));
        Stdout { inner, bar }
    }

    fn checked<T>(&mut self, op: impl FnOnce(&mut io::Stdout) -> io::Result<T>) -> io::Result<T> {
        let inner = &mut self.inner;
        let result = match &self.bar {
            Some(bar) => bar.suspend(|| op(inner)),
            None => op(inner),
        };
        if result.as_ref().is_err_and(|e| e.kind() == io::ErrorKind::BrokenPipe) {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
        }
        result
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.checked(|out| out.write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.checked(|out| out.flush())
    }
}

/// The engine for this process, its backend chosen once from the flag or
/// `ROUTE_OPTIM_BACKEND` (automatic when neither: the GPU when an adapter
/// exists and a batch is worth it). `gpu` with no adapter is an error.
pub fn engine(backend: Option<&str>) -> anyhow::Result<Engine> {
    let choice = match backend {
        Some(name) => Backend::from_name(name),
        None => Backend::from_env(),
    }
    .map_err(anyhow::Error::msg)
    .context("choosing the backend")?;
    Engine::choose(choice).context("backend gpu was asked for")
}

/// Logs to stderr, filtered by `RUST_LOG` (else `default`), so that warnings
/// such as a GPU batch falling back to the CPU reach whoever runs the
/// command; around the progress bar when one shows.
pub fn log_to_stderr(default: &str) {
    tracing_subscriber::fmt()
        .with_writer(|| progress::LogWriter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default.into()))
        .init();
}
