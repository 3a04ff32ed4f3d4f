//! The Lambda handler for the Kinesis event source: a plain async function of
//! (event, deadline, shared state), so tests call it directly.
//!
//! Every record is decoded into a request or an error record, the batch is
//! solved together, and all outputs go to the prediction stream. The response
//! names the first record, in batch order, whose output could not be written
//! (Lambda resumes there; outputs are idempotent, so replays are harmless).
//! Invalid input is answered, never reported as a failure.

use crate::batch::{self, Record};
use crate::kinesis::{self, encode, Outgoing, Writer};
use crate::solver::{Budget, Engine};
use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::streams::{KinesisBatchItemFailure, KinesisEventResponse};
use serde_json::json;
use std::time::{Duration, Instant, SystemTime};

/// Built once per process, shared by every invocation.
pub struct State {
    pub engine: Engine,
    pub writer: Writer,
    /// For the metrics' dimension.
    pub function_name: String,
}

/// Time kept back from the search for encoding and writing the outputs.
fn write_margin(remaining: Duration) -> Duration {
    (remaining / 4).max(Duration::from_millis(300)).min(remaining)
}

/// Counts for the metrics line.
#[derive(Debug, Default, PartialEq)]
pub struct Metrics {
    pub records: usize,
    pub error_records: usize,
    pub solve_ms: f64,
    pub write_ms: f64,
    pub retried: usize,
    pub failed: usize,
}

/// Decodes, solves and encodes a batch: everything but the writing. Returns
/// the records to write (in batch order) and how many are error records
/// (predictions too large for a record among them).
pub fn answer(event: KinesisEvent, engine: &Engine, budget: &Budget) -> (Vec<Outgoing>, usize) {
    let records: Vec<Record> = event
        .records
        .into_iter()
        .map(|r| {
            let arn = r.event_source_arn.unwrap_or_default();
            // eventID is "shardId-000000000000:<sequence number>".
            let shard_id = r.event_id.as_deref().and_then(|id| id.split_once(':')).map(|(s, _)| s.to_string());
            kinesis::record(&r.kinesis.data.0, &arn, shard_id.unwrap_or_default(), r.kinesis.sequence_number)
        })
        .collect();
    let outgoing: Vec<Outgoing> = batch::answer(engine, budget, records).into_iter().map(encode).collect();
    let error_records = outgoing.iter().filter(|o| o.error).count();
    (outgoing, error_records)
}

/// Deadlines before 2001 are not Lambda's: cargo-lambda 1.9.2's emulator
/// sends 600000 ms, ten minutes after 1970.
const FIRST_LAMBDA_DEADLINE: Duration = Duration::from_secs(978_307_200);

/// The invocation's time left at `now`: `None` for a deadline that is not
/// Lambda's, zero for one that has passed.
fn time_left(deadline: SystemTime, now: SystemTime) -> Option<Duration> {
    (deadline >= SystemTime::UNIX_EPOCH + FIRST_LAMBDA_DEADLINE)
        .then(|| deadline.duration_since(now).unwrap_or(Duration::ZERO))
}

/// `deadline` is the invocation's (Lambda-Runtime-Deadline-Ms). One that is
/// not Lambda's (see [`FIRST_LAMBDA_DEADLINE`]) is ignored with a warning:
/// the batch is answered with default search budgets and writes bounded by
/// their attempts alone, rather than solved without a search and not
/// written at all. One that has passed leaves no time: nothing is written,
/// and Lambda, which has already given up on the invocation, is told to
/// resume at the first record.
pub async fn handle(event: KinesisEvent, deadline: SystemTime, state: &State) -> (KinesisEventResponse, Metrics) {
    let t0 = Instant::now();
    let remaining = time_left(deadline, SystemTime::now());
    if remaining.is_none() {
        tracing::warn!(deadline_ms = ?deadline.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis()).ok(), "the invocation's deadline is not Lambda's (before 2001): working without one");
    }
    let budget = Budget { deadline: remaining.map(|r| t0 + r - write_margin(r)), ..Budget::default() };
    let sequence: Vec<String> = event.records.iter().map(|r| r.kinesis.sequence_number.clone()).collect();
    let engine = state.engine.clone();
    let (outgoing, error_records) = match tokio::task::spawn_blocking(move || answer(event, &engine, &budget)).await {
        Ok(answered) => answered,
        Err(e) => {
            // The solver's panics are caught record by record (`batch::answer`);
            // one here is a bug in decoding or encoding. Lambda sends the batch
            // again from its first record.
            tracing::error!(error = %e, "the batch could not be answered");
            let metrics = Metrics { records: sequence.len(), failed: sequence.len(), ..Metrics::default() };
            return (failure_at(sequence.first().map(String::as_str)), metrics);
        }
    };
    let solve_ms = t0.elapsed().as_secs_f64() * 1e3;

    let t1 = Instant::now();
    // Stop resending a little before the invocation ends, so the partial
    // response still reaches Lambda.
    let report =
        state.writer.put_all(&outgoing, remaining.map(|r| t0 + r.saturating_sub(Duration::from_millis(100)))).await;
    let metrics = Metrics {
        records: outgoing.len(),
        error_records,
        solve_ms,
        write_ms: t1.elapsed().as_secs_f64() * 1e3,
        retried: report.retried,
        failed: report.failed(),
    };
    if let Some(fatal) = &report.fatal {
        tracing::error!(stream = %state.writer.stream(), error = %fatal, "cannot write predictions");
    }
    (failure_at(report.first_failed().map(|i| sequence[i].as_str())), metrics)
}

/// The response that makes Lambda resume at `sequence_number` (none: the
/// whole batch is done).
fn failure_at(sequence_number: Option<&str>) -> KinesisEventResponse {
    let mut response = KinesisEventResponse::default();
    if let Some(seq) = sequence_number {
        let mut failure = KinesisBatchItemFailure::default();
        failure.item_identifier = Some(seq.to_string());
        response.batch_item_failures.push(failure);
    }
    response
}

/// One CloudWatch Embedded Metric Format line (printed to stdout, where
/// Lambda's log agent turns it into metrics).
pub fn emf_line(function_name: &str, m: &Metrics) -> String {
    let millis = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_millis() as u64;
    json!({
        "_aws": {
            "Timestamp": millis,
            "CloudWatchMetrics": [{
                "Namespace": "route-optim",
                "Dimensions": [["FunctionName"]],
                "Metrics": [
                    {"Name": "Records", "Unit": "Count"},
                    {"Name": "ErrorRecords", "Unit": "Count"},
                    {"Name": "SolveMs", "Unit": "Milliseconds"},
                    {"Name": "WriteMs", "Unit": "Milliseconds"},
                    {"Name": "PutRecordsRetries", "Unit": "Count"},
                    {"Name": "FailedRecords", "Unit": "Count"},
                ],
            }],
        },
        "FunctionName": function_name,
        "Records": m.records,
        "ErrorRecords": m.error_records,
        "SolveMs": m.solve_ms,
        "WriteMs": m.write_ms,
        "PutRecordsRetries": m.retried,
        "FailedRecords": m.failed,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_margin_is_bounded() {
        assert_eq!(write_margin(Duration::from_secs(60)), Duration::from_secs(15));
        assert_eq!(write_margin(Duration::from_secs(1)), Duration::from_millis(300));
        assert_eq!(write_margin(Duration::from_millis(100)), Duration::from_millis(100));
    }

    #[test]
    fn only_deadlines_after_2000_are_lambdas() {
        let now = SystemTime::now();
        let emulator = SystemTime::UNIX_EPOCH + Duration::from_millis(600_000);
        assert_eq!(time_left(emulator, now), None);
        assert_eq!(time_left(now - Duration::from_secs(1), now), Some(Duration::ZERO));
        assert_eq!(time_left(now + Duration::from_secs(60), now), Some(Duration::from_secs(60)));
    }

    /// A deadline that has passed (not the emulator's) answers at once,
    /// writing nothing: it was once taken for "no deadline", and the writes
    /// then waited on Kinesis without bound (here an endpoint that never
    /// answers) while Lambda had already given up on the invocation.
    #[tokio::test]
    async fn a_passed_deadline_writes_nothing_and_resumes_at_the_first_record() {
        use base64::Engine as _;
        let writer = kinesis::writer_to_silent_endpoint();
        let state = State { engine: Engine::new(crate::solver::Backend::Simd), writer, function_name: "f".into() };
        let data = base64::engine::general_purpose::STANDARD.encode(include_bytes!("../examples/seed-request.json"));
        let records: Vec<serde_json::Value> = (1..=3)
            .map(|seq| {
                json!({
                    "kinesis": { "partitionKey": "k", "sequenceNumber": seq.to_string(), "data": data,
                                 "approximateArrivalTimestamp": 1.7e9, "kinesisSchemaVersion": "1.0" },
                    "eventSource": "aws:kinesis", "eventID": format!("shardId-000000000000:{seq}"),
                    "eventSourceARN": "arn:aws:kinesis:us-east-1:000000000000:stream/requests",
                })
            })
            .collect();
        let event: KinesisEvent = serde_json::from_value(json!({ "Records": records })).unwrap();
        let passed = SystemTime::now() - Duration::from_secs(1);
        let (response, metrics) = tokio::time::timeout(Duration::from_secs(20), handle(event, passed, &state))
            .await
            .expect("answered without waiting on Kinesis");
        let resume: Vec<_> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_deref()).collect();
        assert_eq!(resume, [Some("1")]);
        assert_eq!((metrics.records, metrics.failed), (3, 3));
    }

    #[test]
    fn emf_line_names_every_metric() {
        let m = Metrics { records: 5, error_records: 1, solve_ms: 2.5, write_ms: 3.0, retried: 2, failed: 0 };
        let v: serde_json::Value = serde_json::from_str(&emf_line("f", &m)).unwrap();
        for metric in v["_aws"]["CloudWatchMetrics"][0]["Metrics"].as_array().unwrap() {
            assert!(v.get(metric["Name"].as_str().unwrap()).is_some(), "{metric}");
        }
        assert_eq!(v["Records"], 5);
        assert_eq!(v["FunctionName"], "f");
    }
}
