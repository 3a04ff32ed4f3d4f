//! Helpers shared by the end-to-end tests (tests/e2e.rs, tests/worker.rs):
//! the services scripts/services.sh starts, and reading/writing streams.
#![allow(dead_code)] // each test file uses a different subset

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{PutRecordsRequestEntry, ShardIteratorType};
use aws_sdk_kinesis::Client;
use base64::Engine as _;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

/// The services' addresses, or None (and a note) outside scripts/test.sh.
pub fn services() -> Option<(String, String)> {
    match (std::env::var("E2E_LAMBDA_URL"), std::env::var("E2E_PROXY_URL")) {
        (Ok(lambda), Ok(proxy)) => Some((lambda, proxy)),
        _ => {
            assert!(std::env::var_os("REQUIRE_E2E").is_none(), "REQUIRE_E2E is set but the services are not running");
            eprintln!("skipped: the emulators run only under scripts/test.sh");
            None
        }
    }
}

pub async fn client(endpoint: Option<&str>) -> Client {
    let mut loader = aws_config::from_env();
    if let Some(url) = endpoint {
        loader = loader.endpoint_url(url);
    }
    Client::new(&loader.load().await)
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", fastrand::u64(..))
}

/// Creates a stream and waits until it is active; returns its ARN.
pub async fn create_stream(kinesis: &Client, name: &str) -> String {
    create_stream_with(kinesis, name, 1).await
}

pub async fn create_stream_with(kinesis: &Client, name: &str, shards: i32) -> String {
    kinesis.create_stream().stream_name(name).shard_count(shards).send().await.expect("CreateStream");
    wait_active(kinesis, name).await
}

pub async fn wait_active(kinesis: &Client, name: &str) -> String {
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

/// Every record of a stream, shard by shard (oldest first within a shard).
pub async fn read_all(kinesis: &Client, stream: &str) -> Vec<aws_sdk_kinesis::types::Record> {
    let shards = kinesis.list_shards().stream_name(stream).send().await.expect("ListShards");
    let mut out = Vec::new();
    for shard in shards.shards() {
        out.extend(read_shard(kinesis, stream, shard.shard_id()).await);
    }
    out
}

/// Every record of one shard, oldest first.
pub async fn read_shard(kinesis: &Client, stream: &str, shard: &str) -> Vec<aws_sdk_kinesis::types::Record> {
    let it = kinesis
        .get_shard_iterator()
        .stream_name(stream)
        .shard_id(shard)
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
pub fn lambda_event(records: &[aws_sdk_kinesis::types::Record], arn: &str) -> Value {
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
pub fn invoke(lambda_url: &str, event: &Value) -> Value {
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
pub async fn outputs_by_uuid(kinesis: &Client, stream: &str) -> HashMap<String, Vec<Vec<u8>>> {
    let mut map: HashMap<String, Vec<Vec<u8>>> = HashMap::new();
    for r in read_all(kinesis, stream).await {
        let v: Value = serde_json::from_slice(r.data().as_ref()).expect("outputs are JSON");
        let uuid = v["UUID"].as_str().expect("UUID").to_string();
        assert_eq!(r.partition_key(), Some(uuid.as_str()), "partition key is the output's UUID");
        map.entry(uuid).or_default().push(r.data().as_ref().to_vec());
    }
    map
}

pub fn haversine(a: [f64; 2], b: [f64; 2]) -> f64 {
    let (p1, p2) = (a[0].to_radians(), b[0].to_radians());
    let h = ((p2 - p1) / 2.0).sin().powi(2) + p1.cos() * p2.cos() * ((b[1] - a[1]).to_radians() / 2.0).sin().powi(2);
    2.0 * 6371.0088 * h.sqrt().asin()
}

/// 500 requests of 5–60 stops, 10 of them invalid (each a different problem).
pub fn mixed_batch() -> (Vec<Vec<u8>>, Vec<&'static str>) {
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

pub async fn put_requests(kinesis: &Client, stream: &str, data: &[Vec<u8>]) {
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
