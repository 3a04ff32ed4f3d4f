//! End-to-end tests of the Kinesis → Lambda → Kinesis path against real
//! components on loopback, started by `scripts/test.sh` (scripts/services.sh):
//! kinesis-mock, a throttling proxy in front of it, `cargo lambda watch` and
//! the release binary running `route-optim lambda` against it.
//!
//! No emulator replays the Kinesis trigger, so each test reads its request
//! stream itself and builds the event exactly as Lambda does (base64 data,
//! sequence numbers, eventSourceARN). Each test uses streams of its own, so
//! they run in parallel; outputs are found by their deterministic UUIDs.

mod support;

use aws_lambda_events::event::kinesis::KinesisEvent;
use route_optim::kinesis::output_uuid;
use route_optim::kinesis::{Outgoing, Writer};
use route_optim::lambda::{handle, State};
use route_optim::solver::{Backend, Engine};
use serde_json::{json, Value};
use std::process::Command;
use std::time::{Duration, SystemTime};
use support::*;

#[tokio::test(flavor = "multi_thread")]
async fn seed_example_through_awscli_and_the_runtime_emulator() {
    let Some((lambda_url, _)) = services() else { return };
    let kinesis = client(None).await;
    let stream = unique("seed");
    let arn = create_stream(&kinesis, &stream).await;
    // The seed's own command, pointed at the emulator (awscli v1 base64-encodes --data).
    let seed = std::fs::read_to_string("examples/seed-request.json").unwrap();
    let aws = std::env::var("E2E_AWS_CLI").unwrap_or_else(|_| "aws".into());
    let put = Command::new(aws)
        .args(["kinesis", "put-record", "--endpoint-url", "http://127.0.0.1:4568", "--stream-name", &stream])
        .args(["--partition-key", "1", "--data", seed.trim()])
        .output()
        .expect("aws runs");
    assert!(put.status.success(), "{}", String::from_utf8_lossy(&put.stderr));

    let records = read_all(&kinesis, &stream).await;
    assert_eq!(records.len(), 1);
    let response = invoke(&lambda_url, &lambda_event(&records, &arn));
    assert_eq!(response["batchItemFailures"], json!([]), "{response}");

    let uuid = output_uuid(&arn, records[0].sequence_number());
    let outputs = outputs_by_uuid(&kinesis, "predictions").await;
    let copies = outputs.get(&uuid).expect("the prediction is in the stream");
    let p: Value = serde_json::from_slice(&copies[0]).unwrap();
    let route: Vec<&str> = p["route"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(route.len(), 5);
    assert_eq!((route[0], route[4]), ("Chicago", "Chicago"));
    for city in ["Atlanta", "Los Angeles", "New York City"] {
        assert!(route.contains(&city), "{route:?}");
    }
    assert_eq!(p["optimal"], true);
    // Optimal: no shorter order of the three other cities.
    let pts = [[41.8781, -87.6298], [33.753746, -84.38633], [34.052235, -118.243683], [40.73061, -73.935242]];
    let mut best = f64::INFINITY;
    for perm in [[1, 2, 3], [1, 3, 2], [2, 1, 3], [2, 3, 1], [3, 1, 2], [3, 2, 1]] {
        let o = [0, perm[0], perm[1], perm[2], 0];
        best = best.min(o.windows(2).map(|w| haversine(pts[w[0]], pts[w[1]])).sum());
    }
    let got = p["distance_km"].as_f64().unwrap();
    assert!((got - best).abs() < 1e-6 * best, "{got} vs optimum {best}");
    assert_eq!(p["source"]["sequence_number"], records[0].sequence_number());

    // The function's stdout, with the log format the template deploys it
    // with: every line a JSON object, the logger's and the metrics'.
    let log = std::fs::read_to_string(std::env::var("E2E_LAMBDA_LOG").expect("scripts/services.sh's log")).unwrap();
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l:?}")))
        .collect();
    assert!(lines.iter().all(Value::is_object), "{log}");
    assert!(lines.iter().any(|l| l["fields"]["message"] == "ready" && l["level"] == "INFO"), "{log}");
    assert!(lines.iter().any(|l| l["_aws"]["CloudWatchMetrics"].is_array()), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn batch_of_500_with_invalid_records_through_the_runtime_emulator() {
    let Some((lambda_url, _)) = services() else { return };
    let kinesis = client(None).await;
    let stream = unique("batch");
    let arn = create_stream(&kinesis, &stream).await;
    let (data, expect) = mixed_batch();
    put_requests(&kinesis, &stream, &data).await;
    let records = read_all(&kinesis, &stream).await;
    assert_eq!(records.len(), 500);

    let response = invoke(&lambda_url, &lambda_event(&records, &arn));
    assert_eq!(response["batchItemFailures"], json!([]), "invalid input is never a batch failure");

    let outputs = outputs_by_uuid(&kinesis, "predictions").await;
    let mut errors = 0;
    for (k, r) in records.iter().enumerate() {
        let copies = outputs.get(&output_uuid(&arn, r.sequence_number())).unwrap_or_else(|| panic!("record {k}"));
        let v: Value = serde_json::from_slice(&copies[0]).unwrap();
        if expect[k].is_empty() {
            assert_eq!(v["id"], k, "prediction {k}");
            let n = serde_json::from_slice::<Value>(&data[k]).unwrap()["coordinates"].as_array().unwrap().len();
            assert_eq!(v["order"].as_array().unwrap().len(), n + 1, "a round trip through all {n} stops");
        } else {
            errors += 1;
            let message = v["error"]["message"].as_str().unwrap();
            assert!(message.contains(expect[k]), "record {k}: {message:?} should name {:?}", expect[k]);
        }
    }
    assert_eq!(errors, 10);
}

fn state(writer: Writer) -> State {
    State { engine: Engine::new(Backend::Simd), writer, function_name: "test".into() }
}

fn deadline() -> SystemTime {
    SystemTime::now() + Duration::from_secs(60)
}

#[tokio::test(flavor = "multi_thread")]
async fn throttled_put_records_are_resent_until_every_output_arrives() {
    let Some((_, proxy_url)) = services() else { return };
    let kinesis = client(None).await;
    let (requests, predictions) = (unique("thr-req"), unique("thr-pred"));
    let arn = create_stream(&kinesis, &requests).await;
    create_stream(&kinesis, &predictions).await;
    let (data, _) = mixed_batch();
    put_requests(&kinesis, &requests, &data).await;
    let records = read_all(&kinesis, &requests).await;
    let event: KinesisEvent = serde_json::from_value(lambda_event(&records, &arn)).unwrap();

    // The handler writes through the proxy, which throttles 10% of entries.
    // One attempt an entry where there is no deadline; with the
    // invocation's, throttled entries are sent again until they are in (they
    // were once given up after 6 attempts, with most of the time left).
    let mut through_proxy = Writer::new(client(Some(&proxy_url)).await, &predictions);
    through_proxy.max_attempts = 1;
    let st = state(through_proxy);
    let (response, metrics) = handle(event.clone(), deadline(), &st).await;
    assert!(response.batch_item_failures.is_empty(), "{:?}", response.batch_item_failures);
    assert!(metrics.retried > 0, "the proxy throttled nothing?");
    assert_eq!((metrics.records, metrics.failed), (500, 0));
    // A redelivery (Lambda's retry after a partial failure) yields the same outputs.
    let (again, _) = handle(event, deadline(), &st).await;
    assert!(again.batch_item_failures.is_empty());

    let outputs = outputs_by_uuid(&kinesis, &predictions).await;
    for r in &records {
        let copies = outputs.get(&output_uuid(&arn, r.sequence_number())).expect("every output arrives");
        assert!(copies.len() >= 2, "written by both deliveries");
        assert!(copies.iter().all(|c| c == &copies[0]), "duplicates have the same UUID and bytes");
    }
    // Every PutRecords call stayed within Kinesis' limits.
    let log = std::fs::read_to_string(std::env::var("E2E_PROXY_LOG").unwrap()).unwrap();
    for line in log.lines() {
        let call: Value = serde_json::from_str(line).unwrap();
        assert!(call["records"].as_u64().unwrap() <= 500, "{call}");
        assert!(call["bytes"].as_u64().unwrap() <= 5 << 20, "{call}");
    }
    // Without a deadline (the worker's writes) an entry gets `max_attempts`
    // calls, here one: about 50 of 500 stay throttled and are reported.
    let blank: Vec<Outgoing> =
        (0..500).map(|k| Outgoing { partition_key: format!("k{k}"), data: b"{}".to_vec(), error: false }).collect();
    let report = st.writer.put_all(&blank, None).await;
    assert!((1..200).contains(&report.failed()), "{} of 500 not written", report.failed());
    assert_eq!(report.retried, 0);
}

/// Outputs still not written at the invocation's deadline: the handler
/// answers before it, and Lambda resumes at the first unwritten record in
/// batch order, here the eighth of 30. The proxy throttles the outputs of
/// the requests with an `always-throttled` id at every call (the eighth
/// and the twentieth); the others' random throttling, and the
/// `InternalFailure`s of the fourth's and the thirteenth's first three
/// calls, are resent until they are in.
#[tokio::test(flavor = "multi_thread")]
async fn outputs_unwritten_at_the_deadline_resume_at_the_first_of_them() {
    let Some((_, proxy_url)) = services() else { return };
    let kinesis = client(None).await;
    let (requests, predictions) = (unique("dl-req"), unique("dl-pred"));
    let arn = create_stream(&kinesis, &requests).await;
    create_stream(&kinesis, &predictions).await;
    let (blocked, failing) = ([7, 19], [3, 12]);
    let data: Vec<Vec<u8>> = (0..30)
        .map(|k| {
            let id = match k {
                _ if blocked.contains(&k) => format!("always-throttled-{k}"),
                _ if failing.contains(&k) => format!("internal-failure-{k}"),
                _ => format!("r{k}"),
            };
            let coords = [[41.0 + k as f64 * 0.01, -87.0], [40.0, -80.0], [35.0, -90.0], [33.0, -84.0]];
            json!({"id": id, "coordinates": coords}).to_string().into_bytes()
        })
        .collect();
    put_requests(&kinesis, &requests, &data).await;
    let records = read_all(&kinesis, &requests).await;
    assert_eq!(records.len(), 30);
    let event: KinesisEvent = serde_json::from_value(lambda_event(&records, &arn)).unwrap();

    // One call an entry without a deadline: only the deadline keeps
    // resending, so without it the failed entries would be reported after
    // one call (and InternalFailures were, before: the fourth record's
    // output was given up with most of the time left).
    let mut through_proxy = Writer::new(client(Some(&proxy_url)).await, &predictions);
    through_proxy.max_attempts = 1;
    let st = state(through_proxy);
    let left = Duration::from_secs(4);
    let t0 = std::time::Instant::now();
    let (response, metrics) = handle(event, SystemTime::now() + left, &st).await;
    let took = t0.elapsed();
    let resume: Vec<_> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_deref()).collect();
    assert_eq!(resume, [Some(records[7].sequence_number())]);
    assert_eq!((metrics.records, metrics.failed), (30, 2));
    // Resent until the deadline: the two at least five times (the first
    // five backoffs add up to 3.1 s at most).
    assert!(metrics.retried >= 2 * 5, "{metrics:?}");
    // Resending stops 100 ms before the deadline.
    assert!(took < left, "answered {took:?} after the call, the deadline was {left:?} after it");

    let outputs = outputs_by_uuid(&kinesis, &predictions).await;
    for (k, r) in records.iter().enumerate() {
        let written = outputs.contains_key(&output_uuid(&arn, r.sequence_number()));
        assert_eq!(written, !blocked.contains(&k), "record {k}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_prediction_stream_fails_the_batch_then_recovers() {
    let Some(_) = services() else { return };
    let kinesis = client(None).await;
    let (requests, predictions) = (unique("miss-req"), unique("miss-pred"));
    let arn = create_stream(&kinesis, &requests).await;
    let (data, _) = mixed_batch();
    put_requests(&kinesis, &requests, &data[..20]).await;
    let records = read_all(&kinesis, &requests).await;
    let event: KinesisEvent = serde_json::from_value(lambda_event(&records, &arn)).unwrap();

    let st = state(Writer::new(kinesis.clone(), &predictions));
    let (response, metrics) = handle(event.clone(), deadline(), &st).await;
    assert_eq!(response.batch_item_failures.len(), 1);
    assert_eq!(
        response.batch_item_failures[0].item_identifier.as_deref(),
        Some(records[0].sequence_number()),
        "Lambda resumes at the first record"
    );
    assert_eq!(metrics.failed, 20);

    create_stream(&kinesis, &predictions).await;
    let (response, metrics) = handle(event, deadline(), &st).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(metrics.failed, 0);
    let outputs = outputs_by_uuid(&kinesis, &predictions).await;
    assert_eq!(outputs.len(), 20);
}
