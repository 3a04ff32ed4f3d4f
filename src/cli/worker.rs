//! `route-optim worker`: the long-running Kinesis consumer for a GPU EC2
//! instance. Configuration by flags, each also an environment variable; the
//! AWS endpoint, region and credentials from the standard AWS environment.

use anyhow::Context;
use route_optim::worker::{self, Config, StartPosition};
use std::path::PathBuf;
use std::time::Duration;

#[derive(clap::Args)]
pub struct WorkerArgs {
    /// Stream to read requests from.
    #[arg(long, env = "REQUEST_STREAM")]
    request_stream: String,
    /// Stream to write predictions and error records to.
    #[arg(long, env = "PRED_STREAM")]
    prediction_stream: String,
    /// Checkpoint file (shard → last sequence number whose output is written).
    #[arg(long, env = "CHECKPOINT_PATH", default_value = "route-optim-checkpoint.json")]
    checkpoint: PathBuf,
    /// Most records solved together.
    #[arg(long, env = "BATCH_MAX", default_value_t = 1000)]
    batch_max: usize,
    /// Longest a record waits for its batch to fill, in milliseconds.
    #[arg(long, env = "BATCH_WAIT_MS", default_value_t = 200)]
    batch_wait_ms: u64,
    /// Where to start without a checkpoint: every record the stream holds,
    /// or those written from this first start on (the time is checkpointed).
    #[arg(long, env = "START_POSITION", value_enum, default_value_t = Start::TrimHorizon)]
    start: Start,
    /// Seconds between progress lines.
    #[arg(long, env = "LOG_EVERY_S", default_value_t = 10)]
    log_every_s: u64,
    /// Longest the searches of one batch run, in seconds (decimal): a
    /// request's time_limit_ms beyond it is cut short, so that one request
    /// cannot hold up its shard.
    #[arg(long, env = "MAX_SOLVE_S", value_name = "SECONDS", default_value = "60", allow_negative_numbers = true, value_parser = super::solve::parse_seconds)]
    max_solve_s: Duration,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Start {
    TrimHorizon,
    Latest,
}

pub fn run(a: WorkerArgs) -> anyhow::Result<()> {
    let engine = super::engine(None)?;
    anyhow::ensure!(a.batch_max >= 1, "--batch-max must be at least 1");
    let config = Config {
        request_stream: a.request_stream,
        prediction_stream: a.prediction_stream,
        checkpoint: a.checkpoint,
        batch_max: a.batch_max,
        batch_wait: Duration::from_millis(a.batch_wait_ms),
        start: match a.start {
            Start::TrimHorizon => StartPosition::TrimHorizon,
            Start::Latest => StartPosition::Latest,
        },
        log_every: Duration::from_secs(a.log_every_s.max(1)),
        max_solve: a.max_solve_s,
    };
    super::log_to_stderr("info");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting tokio")?;
    runtime.block_on(async move {
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        // The first SIGTERM or Ctrl-C stops after the batch in flight; a
        // second quits at once, as `solve` does. What was not checkpointed
        // is read and answered again on restart, with the same UUIDs. The
        // SIGTERM handler is set up before the task: failing to set it up
        // is an error at start, not a task gone and a stop that never comes.
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("listening for SIGTERM")?;
        tokio::spawn(async move {
            for first in [true, false] {
                // A Ctrl-C handler that cannot be set up leaves SIGTERM.
                tokio::select! {
                    _ = term.recv() => {}
                    Ok(()) = tokio::signal::ctrl_c() => {}
                }
                if first {
                    tracing::info!("stopping: finishing the batch in flight (signal again to quit at once)");
                    let _ = stop.send(true);
                }
            }
            tracing::warn!("quitting at once: what was not checkpointed is read again on restart");
            std::process::exit(130);
        });
        worker::run(config, engine, super::kinesis_client().await, shutdown).await
    })
}
