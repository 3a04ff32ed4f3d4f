//! Subcommands of the `route-optim` binary.

pub mod bench;
pub mod gen;
pub mod lambda;
pub mod progress;
pub mod solve;
pub mod worker;

use anyhow::Context;
use route_optim::solver::{Backend, Engine};

/// The engine for this process, its backend chosen once from the flag or
/// `ROUTE_OPTIM_BACKEND`.
pub fn engine(backend: Option<&str>) -> anyhow::Result<Engine> {
    let backend = match backend {
        Some(name) => Backend::from_name(name),
        None => Backend::from_env(),
    }
    .map_err(anyhow::Error::msg)
    .context("choosing the backend")?;
    Ok(Engine::new(backend))
}
