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
