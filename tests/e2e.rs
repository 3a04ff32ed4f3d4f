//! End-to-end tests of the Kinesis → Lambda → Kinesis path against real
//! components on loopback, started by `scripts/test.sh` (scripts/services.sh):
//! kinesis-mock, a throttling proxy in front of it, `cargo lambda watch` and
//! the release binary running `route-optim lambda` against it.
//!
//! No emulator replays the Kinesis trigger, so each test reads its request
//! stream itself and builds the event exactly as Lambda does (base64 data,
//! sequence numbers, eventSourceARN). Each test uses streams of its own, so
//! they run in parallel; outputs are found by their deterministic UUIDs.

use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{PutRecordsRequestEntry, ShardIteratorType};
use aws_sdk_kinesis::Client;
use base64::Engine as _;
use route_optim::kinesis::Writer;
use route_optim::lambda::{handle, output_uuid, State};
use route_optim::solver::{Backend, Engine};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::process::Command;
use std::time::{Duration, SystemTime};

/// The services' addresses, or None (and a note) outside scripts/test.sh.
fn services() -> Option<(String, String)> {
    match (std::env::var("E2E_LAMBDA_URL"), std::env::var("E2E_PROXY_URL")) {
        (Ok(lambda), Ok(proxy)) => Some((lambda, proxy)),
        _ => {
            assert!(std::env::var_os("REQUIRE_E2E").is_none(), "REQUIRE_E2E is set but the services are not running");
            eprintln!("skipped: the emulators run only under scripts/test.sh");
            None
        }
    }
}

async fn client(endpoint: Option<&str>) -> Client {
    let mut loader = aws_config::from_env();
    if let Some(url) = endpoint {
        loader = loader.endpoint_url(url);
    }
    Client::new(&loader.load().await)
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", fastrand::u64(..))
}

/// Creates a one-shard stream and waits until it is active; returns its ARN.
async fn create_stream(kinesis: &Client, name: &str) -> String {
    kinesis.create_stream().stream_name(name).shard_count(1).send().await.expect("CreateStream");
    for _ in 0..100 {
        let d = kinesis.describe_stream_summary().stream_name(name).send().await.expect("DescribeStreamSummary");
        let s = d.stream_description_summary().expect("summary");
        if s.stream_status().as_str() == "ACTIVE" {
            return s.stream_arn().to_string();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("stream {name} never became active");
}

/// Every record of a one-shard stream, oldest first.
async fn read_all(kinesis: &Client, stream: &str) -> Vec<aws_sdk_kinesis::types::Record> {
    let it = kinesis
        .get_shard_iterator()
        .stream_name(stream)
        .shard_id("shardId-000000000000")
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .expect("GetShardIterator");
    let mut iterator = it.shard_iterator().map(str::to_string);
    let mut out = Vec::new();
    while let Some(i) = iterator {
        let page = kinesis.get_records().shard_iterator(i).send().await.expect("GetRecords");
        let empty = page.records().is_empty();
        out.extend(page.records().iter().cloned());
        if empty && page.millis_behind_latest().unwrap_or(0) == 0 {
            break;
        }
        iterator = page.next_shard_iterator().map(str::to_string);
    }
    out
}

/// The Kinesis event Lambda would deliver for these records.
fn lambda_event(records: &[aws_sdk_kinesis::types::Record], arn: &str) -> Value {
    let b64 = base64::engine::general_purpose::STANDARD;
    let items: Vec<Value> = records
        .iter()
        .map(|r| {
            let seq = r.sequence_number();
            json!({
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": r.partition_key(),
                    "sequenceNumber": seq,
                    "data": b64.encode(r.data().as_ref()),
                    "approximateArrivalTimestamp": r.approximate_arrival_timestamp().map_or(0.0, |t| t.as_secs_f64()),
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": format!("shardId-000000000000:{seq}"),
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": "arn:aws:iam::000000000000:role/route-optim",
                "awsRegion": "us-east-1",
                "eventSourceARN": arn,
            })
        })
        .collect();
    json!({ "Records": items })
}

/// Posts an event to the runtime emulator and returns the function's response.
fn invoke(lambda_url: &str, event: &Value) -> Value {
    let path = std::env::temp_dir().join(unique("route-optim-event"));
    std::fs::write(&path, event.to_string()).expect("write event");
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "120", "-XPOST"])
        .arg(format!("{lambda_url}/2015-03-31/functions/_/invocations"))
        .arg("--data-binary")
        .arg(format!("@{}", path.display()))
        .output()
        .expect("curl runs");
    let _ = std::fs::remove_file(&path);
    assert!(out.status.success(), "invoke failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// Outputs in a prediction stream by UUID (all copies).
async fn outputs_by_uuid(kinesis: &Client, stream: &str) -> HashMap<String, Vec<Vec<u8>>> {
    let mut map: HashMap<String, Vec<Vec<u8>>> = HashMap::new();
    for r in read_all(kinesis, stream).await {
        let v: Value = serde_json::from_slice(r.data().as_ref()).expect("outputs are JSON");
        let uuid = v["UUID"].as_str().expect("UUID").to_string();
        assert_eq!(r.partition_key(), Some(uuid.as_str()), "partition key is the output's UUID");
        map.entry(uuid).or_default().push(r.data().as_ref().to_vec());
    }
    map
}

fn haversine(a: [f64; 2], b: [f64; 2]) -> f64 {
    let (p1, p2) = (a[0].to_radians(), b[0].to_radians());
    let h = ((p2 - p1) / 2.0).sin().powi(2) + p1.cos() * p2.cos() * ((b[1] - a[1]).to_radians() / 2.0).sin().powi(2);
    2.0 * 6371.0088 * h.sqrt().asin()
}

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
}

/// 500 requests of 5–60 stops, 10 of them invalid (each a different problem).
fn mixed_batch() -> (Vec<Vec<u8>>, Vec<&'static str>) {
    let mut rng = fastrand::Rng::with_seed(500);
    let invalid: [(&str, &str); 10] = [
        ("{\"coordinates\": [[1, 2]", "invalid JSON"),
        ("{\"coordinates\": [[91, 0], [0, 0]]}", "coordinates[0][0]: latitude 91"),
        ("{\"coordinates\": [[0, 181], [0, 0]]}", "coordinates[0][1]: longitude 181"),
        ("{\"coordinates\": []}", "coordinates: must hold at least one"),
        ("{\"locations\": [\"a\"], \"coordinates\": [[0, 0], [1, 1]]}", "locations: has 1 names"),
        ("{\"coordinates\": [[0, 0], [1, 1]], \"options\": {\"start\": 9}}", "options.start: 9 is out of range"),
        ("{\"coordinates\": [[0, 0]], \"options\": {\"metric\": \"taxicab\"}}", "options.metric: unknown metric"),
        ("{\"coordinates\": [[0, 0]], \"options\": {\"speed\": 1}}", "options.speed: unknown field"),
        ("{\"coordinates\": [[0, \"x\"]]}", "coordinates[0][1]: invalid type"),
        ("[1, 2, 3]", "request: expected a JSON object"),
    ];
    let mut data = Vec::new();
    let mut expect = Vec::new();
    for k in 0..500 {
        if k % 50 == 7 {
            let (body, message) = invalid[k / 50];
            data.push(body.as_bytes().to_vec());
            expect.push(message);
        } else {
            let n = rng.usize(5..=60);
            let coords: Vec<[f64; 2]> = (0..n).map(|_| [25.0 + rng.f64() * 24.0, -124.0 + rng.f64() * 57.0]).collect();
            data.push(json!({"id": k, "coordinates": coords}).to_string().into_bytes());
            expect.push("");
        }
    }
    (data, expect)
}

async fn put_requests(kinesis: &Client, stream: &str, data: &[Vec<u8>]) {
    for chunk in data.chunks(500) {
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(k, d)| {
                PutRecordsRequestEntry::builder()
                    .data(Blob::new(d.clone()))
                    .partition_key(k.to_string())
                    .build()
                    .unwrap()
            })
            .collect();
        let out = kinesis.put_records().stream_name(stream).set_records(Some(entries)).send().await.unwrap();
        assert_eq!(out.failed_record_count(), Some(0));
    }
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
    let through_proxy = Writer::new(client(Some(&proxy_url)).await, &predictions);
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
