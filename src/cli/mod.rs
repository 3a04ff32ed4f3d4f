//! Subcommands of the `route-optim` binary.

pub mod bench;
pub mod gen;
pub mod info;
pub mod lambda;
pub mod progress;
pub mod solve;
pub mod worker;

use anyhow::Context;
use route_optim::solver::{Backend, Engine};

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
/// command.
pub fn log_to_stderr(default: &str) {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default.into()))
        .init();
}
