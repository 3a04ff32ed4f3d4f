//! `route-optim info`: what this machine offers the engine.

use anyhow::Context;
use route_optim::gpu;
use route_optim::solver::{Backend, DESCENT_MIN_N, GPU_MIN_BATCH};
use std::io::Write;

pub fn run() -> anyhow::Result<()> {
    let choice = Backend::from_env().map_err(anyhow::Error::msg)?;
    let out = &mut super::Stdout::plain();
    writeln!(out, "cpu: {} on {} threads", Backend::Simd.name(), rayon::current_num_threads())
        .context("writing the output")?;
    let found = gpu::find_adapter().and_then(gpu::Gpu::new);
    match &found {
        Ok(g) => writeln!(out, "{g}"),
        Err(e) => writeln!(out, "gpu: none ({e})"),
    }
    .context("writing the output")?;
    let solve = match (choice, &found) {
        (Some(Backend::Gpu), Ok(g)) => g.name().to_string(),
        (Some(Backend::Gpu), Err(_)) => "none: backend gpu was asked for and there is no usable adapter".into(),
        (Some(b), _) => b.name().into(),
        (None, Ok(g)) if !g.is_hardware() => {
            format!("{} (the adapter is a software driver, used only when asked for)", Backend::Simd.name())
        }
        (None, Ok(g)) => {
            format!(
                "{} for batches of {GPU_MIN_BATCH}+ small round trips and the first 2-opt descent of round \
                 trips of {DESCENT_MIN_N}+ points, else {}",
                g.name(),
                Backend::Simd.name()
            )
        }
        (None, Err(_)) => Backend::Simd.name().into(),
    };
    writeln!(out, "solve backend: {solve}").context("writing the output")
}
