//! `route-optim lambda` (also the container's `/var/runtime/bootstrap`): the
//! Lambda runtime loop. The SDK client and engine are built once here; each
//! invocation is `route_optim::lambda::handle`.

use anyhow::Context;
use aws_lambda_events::event::kinesis::KinesisEvent;
use lambda_runtime::{service_fn, LambdaEvent};
use route_optim::kinesis::Writer;
use route_optim::lambda::{emf_line, handle, State};
use std::io::Write;

pub fn run() -> anyhow::Result<()> {
    let engine = super::engine(None)?;
    let stream = std::env::var("PRED_STREAM").context("PRED_STREAM (the prediction stream's name) is not set")?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting tokio")?;
    runtime.block_on(async move {
        // JSON or text per AWS_LAMBDA_LOG_FORMAT, level per AWS_LAMBDA_LOG_LEVEL:
        // deploy/template.yaml asks Lambda for JSON (DESIGN §4).
        lambda_runtime::tracing::init_default_subscriber();
        // A panic as a log line, JSON where the logs are: the solver's are
        // caught record by record, and the default hook's text would be the
        // one line in the log that is not.
        std::panic::set_hook(Box::new(|info| tracing::error!(panic = %info, "panic")));
        let state = State {
            engine,
            writer: Writer::new(super::kinesis_client().await, stream),
            function_name: std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default(),
        };
        tracing::info!(backend = state.engine.backend().name(), stream = state.writer.stream(), "ready");
        let state = &state;
        lambda_runtime::run(service_fn(move |event: LambdaEvent<KinesisEvent>| async move {
            let (response, metrics) = handle(event.payload, event.context.deadline(), state).await;
            // The metrics line is lost if stdout is gone; the invocation is not.
            let line = emf_line(&state.function_name, &metrics);
            if let Err(e) = writeln!(std::io::stdout().lock(), "{line}") {
                tracing::warn!(error = %e, "cannot write the metrics line to stdout");
            }
            Ok::<_, lambda_runtime::Error>(response)
        }))
        .await
        .map_err(|e| anyhow::anyhow!("Lambda runtime: {e}"))
    })
}
