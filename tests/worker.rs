//! The worker against kinesis-mock on loopback (started by scripts/test.sh):
//! multi-shard streams, SIGTERM and SIGKILL, a shard split while it runs.
//! Each test uses streams and a checkpoint of its own.

mod support;

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{PutRecordsRequestEntry, Shard};
use route_optim::kinesis::output_uuid;
use route_optim::worker::Checkpoint;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::*;

struct Worker {
    child: Child,
}

impl Worker {
    fn start(requests: &str, predictions: &str, checkpoint: &Path, batch_max: usize) -> Worker {
        Worker::start_with(requests, predictions, checkpoint, batch_max, &[])
    }

    fn start_with(requests: &str, predictions: &str, checkpoint: &Path, batch_max: usize, more: &[&str]) -> Worker {
        Worker::start_at(None, requests, predictions, checkpoint, batch_max, more)
    }

    /// With `endpoint`, the worker reaches Kinesis there instead.
    fn start_at(
        endpoint: Option<&str>,
        requests: &str,
        predictions: &str,
        checkpoint: &Path,
        batch_max: usize,
        more: &[&str],
    ) -> Worker {
        // Appended to the log, which a restart with the same checkpoint shares.
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(checkpoint.with_extension("log"))
            .expect("worker log");
        let mut command = Command::new(env!("CARGO_BIN_EXE_route-optim"));
        if let Some(url) = endpoint {
            command.env("AWS_ENDPOINT_URL", url);
        }
        let child = command
            .args(["worker", "--request-stream", requests, "--prediction-stream", predictions])
            .arg("--checkpoint")
            .arg(checkpoint)
            .args(["--batch-max", &batch_max.to_string(), "--batch-wait-ms", "50", "--log-every-s", "1"])
            .args(more)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("worker starts");
        Worker { child }
    }

    /// SIGTERM, and the exit status.
    fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        let t0 = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(t0.elapsed() < Duration::from_secs(30), "worker did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A checkpoint path in a temp dir of its own, removed when the test ends;
/// kept, with the worker's log beside it, when the test fails.
struct TempCheckpoint {
    dir: tempfile::TempDir,
    path: PathBuf,
}

impl TempCheckpoint {
    fn new() -> TempCheckpoint {
        let dir = tempfile::Builder::new().prefix("route-optim-worker-").tempdir().expect("temp dir");
        let path = dir.path().join("checkpoint.json");
        TempCheckpoint { dir, path }
    }
}

impl std::ops::Deref for TempCheckpoint {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempCheckpoint {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.dir.disable_cleanup(true);
            eprintln!("worker log kept: {}", self.path.with_extension("log").display());
        }
    }
}

/// Polls the prediction stream until every expected UUID has an output.
async fn wait_for(kinesis: &aws_sdk_kinesis::Client, stream: &str, uuids: &[String]) -> HashMap<String, Vec<Vec<u8>>> {
    let t0 = Instant::now();
    loop {
        let outputs = outputs_by_uuid(kinesis, stream).await;
        let missing = uuids.iter().filter(|u| !outputs.contains_key(*u)).count();
        if missing == 0 {
            return outputs;
        }
        assert!(t0.elapsed() < Duration::from_secs(90), "{missing} of {} outputs missing", uuids.len());
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// A client, and a request stream of `shards` shards with a prediction
/// stream beside it, both named after `tag`: the opening of every test here
/// that needs the emulator. `None` when it is not running (skipped).
struct Streams {
    kinesis: aws_sdk_kinesis::Client,
    requests: String,
    predictions: String,
    arn: String,
}

async fn streams(tag: &str, shards: i32) -> Option<Streams> {
    services()?;
    let kinesis = client(None).await;
    let (requests, predictions) = (unique(&format!("{tag}-req")), unique(&format!("{tag}-pred")));
    let arn = create_stream_with(&kinesis, &requests, shards).await;
    create_stream(&kinesis, &predictions).await;
    Some(Streams { kinesis, requests, predictions, arn })
}

/// Writes `data` to the request stream and starts a worker on a fresh
/// checkpoint; returns once every request in the stream is answered.
async fn answer_all(s: &Streams, data: &[Vec<u8>]) -> (Worker, TempCheckpoint) {
    put_requests(&s.kinesis, &s.requests, data).await;
    let checkpoint = TempCheckpoint::new();
    let worker = Worker::start(&s.requests, &s.predictions, &checkpoint, 200);
    wait_for(&s.kinesis, &s.predictions, &request_uuids(&s.kinesis, &s.requests, &s.arn).await).await;
    (worker, checkpoint)
}

async fn request_uuids(kinesis: &aws_sdk_kinesis::Client, stream: &str, arn: &str) -> Vec<String> {
    read_all(kinesis, stream).await.iter().map(|r| output_uuid(arn, r.sequence_number())).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn four_shards_2000_requests_then_sigterm_checkpoints_the_last_record() {
    let Some(Streams { kinesis, requests, predictions, arn }) = streams("w", 4).await else {
        return;
    };
    let (data, expect) = mixed_batch();
    let data: Vec<Vec<u8>> = data.iter().cycle().take(2000).cloned().collect();
    put_requests(&kinesis, &requests, &data).await;
    let uuids = request_uuids(&kinesis, &requests, &arn).await;
    assert_eq!(uuids.len(), 2000);

    let checkpoint = TempCheckpoint::new();
    let worker = Worker::start(&requests, &predictions, &checkpoint, 400);
    let outputs = wait_for(&kinesis, &predictions, &uuids).await;
    assert_eq!(worker.terminate().code(), Some(0), "SIGTERM exits 0");

    // Every request answered; the invalid ones (10 in each 500) with error records.
    let records = read_all(&kinesis, &requests).await;
    let mut errors = 0;
    for r in &records {
        let v: Value = serde_json::from_slice(&outputs[&output_uuid(&arn, r.sequence_number())][0]).unwrap();
        let k = data.iter().position(|d| d.as_slice() == r.data().as_ref()).unwrap();
        if !expect[k % 500].is_empty() {
            errors += 1;
            assert!(v["error"]["message"].as_str().unwrap().contains(expect[k % 500]), "{v}");
        } else {
            assert!(v["route"].is_array(), "{v}");
        }
    }
    assert_eq!(errors, 40);
    // The checkpoint holds, per shard, the last record of that shard.
    let cp = Checkpoint::load(&checkpoint).unwrap();
    let shards = kinesis.list_shards().stream_name(&requests).send().await.unwrap();
    assert_eq!(shards.shards().len(), 4);
    for shard in shards.shards() {
        let in_shard = read_shard(&kinesis, &requests, shard.shard_id()).await;
        if let Some(last) = in_shard.last() {
            assert_eq!(cp.shards.get(shard.shard_id()).map(String::as_str), Some(last.sequence_number()));
        }
    }
}

/// SIGKILL mid-run, then a restart from an earlier checkpoint: every record
/// is answered, and those answered twice (at least 100) byte for byte alike.
#[tokio::test(flavor = "multi_thread")]
async fn sigkill_mid_run_and_restart_loses_nothing() {
    let Some(Streams { kinesis, requests, predictions, arn }) = streams("k", 4).await else {
        return;
    };
    let (data, _) = mixed_batch();
    let data: Vec<Vec<u8>> = data.iter().cycle().take(2000).cloned().collect();
    put_requests(&kinesis, &requests, &data).await;
    let uuids = request_uuids(&kinesis, &requests, &arn).await;

    let checkpoint = TempCheckpoint::new();
    let mut first = Worker::start(&requests, &predictions, &checkpoint, 40);
    let written = |at_least: usize| {
        let kinesis = &kinesis;
        let predictions = &predictions;
        async move {
            let t0 = Instant::now();
            loop {
                let n = outputs_by_uuid(kinesis, predictions).await.len();
                if n >= at_least {
                    return n;
                }
                assert!(t0.elapsed() < Duration::from_secs(60), "{n} outputs before the kill, not {at_least}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    // A copy of the checkpoint once outputs come, then 100 outputs more than
    // were written when it was taken (a checkpoint only ever follows its
    // outputs).
    written(1).await;
    let early = std::fs::read(&*checkpoint).ok();
    let at_copy = written(0).await;
    assert!(at_copy + 100 < uuids.len(), "{at_copy} of {} answered already: too fast for this test", uuids.len());
    written(at_copy + 100).await;
    first.child.kill().unwrap(); // SIGKILL: no chance to checkpoint the batch in flight
    first.child.wait().unwrap();
    drop(first);
    // Back to the early checkpoint, as a kill between a batch's PutRecords
    // and its checkpoint would leave it, only wider: those 100 records and
    // more are answered twice.
    match early {
        Some(bytes) => std::fs::write(&*checkpoint, bytes).unwrap(),
        // None yet when copied: a start from nothing.
        None => {
            let _ = std::fs::remove_file(&*checkpoint);
        }
    }

    // Every record answered is not enough to stop waiting: the first worker
    // may have answered them all before the kill, and the re-answers come
    // after. At least 100 come, since the copy preceded 100 outputs.
    let second = Worker::start(&requests, &predictions, &checkpoint, 400);
    let t0 = Instant::now();
    let outputs = loop {
        let outputs = outputs_by_uuid(&kinesis, &predictions).await;
        let missing = uuids.iter().filter(|u| !outputs.contains_key(*u)).count();
        let twice = outputs.values().filter(|c| c.len() > 1).count();
        if missing == 0 && twice >= 100 {
            break outputs;
        }
        assert!(t0.elapsed() < Duration::from_secs(90), "{missing} outputs missing, {twice} records answered twice");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(second.terminate().code(), Some(0));
    for u in &uuids {
        let copies = &outputs[u];
        let differ = copies.iter().find(|c| *c != &copies[0]);
        assert!(
            differ.is_none(),
            "duplicates of {u} differ:\n{}\n{}",
            String::from_utf8_lossy(&copies[0]),
            String::from_utf8_lossy(differ.map_or(&[][..], Vec::as_slice))
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_shard_split_while_running_loses_nothing() {
    let Some(s) = streams("s", 2).await else {
        return;
    };
    let (data, _) = mixed_batch();
    let (worker, checkpoint) = answer_all(&s, &data[..250]).await;
    let Streams { kinesis, requests, predictions, arn } = s;

    // Split the first shard, then keep writing.
    let parent = split_first_shard(&kinesis, &requests).await;
    put_requests(&kinesis, &requests, &data[250..]).await;

    let uuids = request_uuids(&kinesis, &requests, &arn).await;
    assert_eq!(uuids.len(), 500);
    wait_for(&kinesis, &predictions, &uuids).await;
    assert_eq!(worker.terminate().code(), Some(0));
    let cp = Checkpoint::load(&checkpoint).unwrap();
    assert!(cp.finished.contains(parent.shard_id()), "the split parent is finished: {cp:?}");
}

/// Kinesis may answer GetShardIterator without an iterator for a closed
/// shard asked for a position past its end: here a restart from a
/// checkpoint at a split parent's last record, through a proxy that answers
/// so for the parent. The parent is then read to its end, and its children
/// are read (they once waited for it for ever).
#[tokio::test(flavor = "multi_thread")]
async fn a_closed_shard_without_an_iterator_is_at_its_end() {
    let Some(s) = streams("e", 1).await else {
        return;
    };
    let (data, _) = mixed_batch();
    let (first, checkpoint) = answer_all(&s, &data[..50]).await;
    let Streams { kinesis, requests, predictions, arn } = s;
    assert_eq!(first.terminate().code(), Some(0));
    let parent = split_first_shard(&kinesis, &requests).await;
    put_requests(&kinesis, &requests, &data[50..100]).await;
    let uuids = request_uuids(&kinesis, &requests, &arn).await;
    assert_eq!(uuids.len(), 100);

    let log = checkpoint.with_extension("proxy");
    let (_proxy, url) = iterator_proxy(&log, parent.shard_id(), &[]).await;
    let second = Worker::start_at(Some(&url), &requests, &predictions, &checkpoint, 200, &[]);
    let outputs = wait_for(&kinesis, &predictions, &uuids).await;
    assert_eq!(second.terminate().code(), Some(0));
    let _ = std::fs::remove_file(&log);
    assert_eq!(outputs.len(), 100);
    let cp = Checkpoint::load(&checkpoint).unwrap();
    assert!(cp.finished.contains(parent.shard_id()), "the parent is finished: {cp:?}");
}

/// An open shard has no end, whatever GetShardIterator answers: one answered
/// twice without an iterator, then refused four times (more than the SDK's
/// own three attempts), is asked again until it is read, and it is not
/// checkpointed as finished.
#[tokio::test(flavor = "multi_thread")]
async fn an_open_shard_without_an_iterator_is_asked_again() {
    let Some(Streams { kinesis, requests, predictions, arn }) = streams("o", 1).await else {
        return;
    };
    let (data, _) = mixed_batch();
    put_requests(&kinesis, &requests, &data[..20]).await;
    let uuids = request_uuids(&kinesis, &requests, &arn).await;
    assert_eq!(uuids.len(), 20);
    let shards = kinesis.list_shards().stream_name(&requests).send().await.unwrap();
    let shard = shards.shards()[0].shard_id().to_string();

    let checkpoint = TempCheckpoint::new();
    let log = checkpoint.with_extension("proxy");
    let (_proxy, url) = iterator_proxy(&log, &shard, &["2", "4"]).await;
    let worker = Worker::start_at(Some(&url), &requests, &predictions, &checkpoint, 200, &[]);
    let outputs = wait_for(&kinesis, &predictions, &uuids).await;
    assert_eq!(worker.terminate().code(), Some(0));
    assert_eq!(outputs.len(), 20);
    let answers: Vec<Value> =
        std::fs::read_to_string(&log).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let count = |a: &str| answers.iter().filter(|v| v["get_shard_iterator"] == a).count();
    assert_eq!((count("none"), count("failed")), (2, 4), "the proxy's answers: {answers:?}");
    let _ = std::fs::remove_file(&log);
    let cp = Checkpoint::load(&checkpoint).unwrap();
    assert!(!cp.finished.contains(&shard), "an open shard is never finished: {cp:?}");
    assert_eq!(
        cp.shards.get(&shard).map(String::as_str),
        read_all(&kinesis, &requests).await.last().map(|r| r.sequence_number())
    );
}

/// A shard that passes retention while it is read is at its end: Kinesis
/// answers its GetShardIterator with ResourceNotFoundException and
/// ListShards no longer lists it. Here a split parent, through a proxy that
/// answers so from the parent's first GetShardIterator on. The parent is
/// checkpointed as finished and not asked again (it was once asked every
/// second for ever), and its children are read.
#[tokio::test(flavor = "multi_thread")]
async fn a_shard_gone_past_retention_is_at_its_end() {
    let Some(Streams { kinesis, requests, predictions, arn }) = streams("g", 1).await else {
        return;
    };
    let (data, _) = mixed_batch();
    put_requests(&kinesis, &requests, &data[..20]).await;
    let parent = split_first_shard(&kinesis, &requests).await;
    put_requests(&kinesis, &requests, &data[20..60]).await;
    let shards = kinesis.list_shards().stream_name(&requests).send().await.unwrap();
    let mut in_children = Vec::new();
    for child in shards.shards().iter().filter(|s| s.shard_id() != parent.shard_id()) {
        let records = read_shard(&kinesis, &requests, child.shard_id()).await;
        in_children.extend(records.iter().map(|r| output_uuid(&arn, r.sequence_number())));
    }
    assert_eq!(in_children.len(), 40);

    let checkpoint = TempCheckpoint::new();
    let log = checkpoint.with_extension("proxy");
    let (_proxy, url) = proxy(&log, &[], Some(parent.shard_id())).await;
    let worker = Worker::start_at(Some(&url), &requests, &predictions, &checkpoint, 200, &[]);
    let outputs = wait_for(&kinesis, &predictions, &in_children).await;
    // Time to ask again, were the parent's reader still running.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(worker.terminate().code(), Some(0));
    assert_eq!(outputs.len(), 40, "the gone parent's records are not read");
    let answers: Vec<Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v.get("get_shard_iterator").is_some())
        .collect();
    assert_eq!(answers, [json!({"get_shard_iterator": "not_found"})], "the parent is asked once");
    let _ = std::fs::remove_file(&log);
    let cp = Checkpoint::load(&checkpoint).unwrap();
    assert!(cp.finished.contains(parent.shard_id()), "the parent is finished: {cp:?}");
}

/// tests/support/throttle_proxy.py in front of the emulator, throttling
/// nothing, answering GetShardIterator on `shard` as `answers` say (none:
/// never with an iterator); the proxy and its address.
async fn iterator_proxy(log: &Path, shard: &str, answers: &[&str]) -> (Killed, String) {
    proxy(log, &[&[shard], answers].concat(), None).await
}

/// tests/support/throttle_proxy.py in front of the emulator, throttling
/// nothing, with `args` after its log file and `gone` as its GONE_SHARD;
/// the proxy and its address.
async fn proxy(log: &Path, args: &[&str], gone: Option<&str>) -> (Killed, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let upstream = std::env::var("AWS_ENDPOINT_URL").expect("the emulator's address");
    let mut command = Command::new("python3");
    if let Some(shard) = gone {
        command.env("GONE_SHARD", shard);
    }
    let proxy = Killed(
        command
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/throttle_proxy.py"))
            .args([&port.to_string(), &upstream, "0"])
            .arg(log)
            .args(args)
            .spawn()
            .expect("python3 runs the proxy"),
    );
    let t0 = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t0.elapsed() < Duration::from_secs(20), "the proxy did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (proxy, format!("http://127.0.0.1:{port}"))
}

/// A child process killed when the test ends, passed or not.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Splits the stream's first shard at the middle of its hash range; returns
/// the parent.
async fn split_first_shard(kinesis: &aws_sdk_kinesis::Client, stream: &str) -> Shard {
    let shards = kinesis.list_shards().stream_name(stream).send().await.unwrap();
    let parent = shards.shards()[0].clone();
    let range = parent.hash_key_range().unwrap();
    let (lo, hi): (u128, u128) = (range.starting_hash_key().parse().unwrap(), range.ending_hash_key().parse().unwrap());
    kinesis
        .split_shard()
        .stream_name(stream)
        .shard_to_split(parent.shard_id())
        .new_starting_hash_key((lo + (hi - lo) / 2).to_string())
        .send()
        .await
        .expect("SplitShard");
    wait_active(kinesis, stream).await;
    parent
}

/// Writes `data` into the shard whose hash range starts at `hash_key`.
async fn put_to(kinesis: &aws_sdk_kinesis::Client, stream: &str, hash_key: &str, data: &[Vec<u8>]) {
    let entries = data
        .iter()
        .map(|d| {
            PutRecordsRequestEntry::builder()
                .data(Blob::new(d.clone()))
                .partition_key("k")
                .explicit_hash_key(hash_key)
                .build()
                .unwrap()
        })
        .collect();
    let out = kinesis.put_records().stream_name(stream).set_records(Some(entries)).send().await.unwrap();
    assert_eq!(out.failed_record_count(), Some(0));
}

/// `--start latest` answers the records written after the first start and
/// none before it: not those of a split's children written before the
/// first start, and not those of a shard left idle until a restart (which
/// once read from the horizon).
#[tokio::test(flavor = "multi_thread")]
async fn start_latest_never_reaches_back_before_the_first_start() {
    let Some(Streams { kinesis, requests, predictions, arn }) = streams("l", 1).await else {
        return;
    };
    let (data, _) = mixed_batch();
    put_requests(&kinesis, &requests, &data[..100]).await;
    let parent = split_first_shard(&kinesis, &requests).await;
    put_requests(&kinesis, &requests, &data[100..200]).await;
    let old = request_uuids(&kinesis, &requests, &arn).await;
    assert_eq!(old.len(), 200);
    let shards = kinesis.list_shards().stream_name(&requests).send().await.unwrap();
    let children: Vec<&Shard> =
        shards.shards().iter().filter(|s| s.parent_shard_id() == Some(parent.shard_id())).collect();
    assert_eq!(children.len(), 2, "{shards:?}");
    for child in &children {
        assert!(!read_shard(&kinesis, &requests, child.shard_id()).await.is_empty(), "old records in each child");
    }
    let hash_key = |k: usize| children[k].hash_key_range().unwrap().starting_hash_key();

    let checkpoint = TempCheckpoint::new();
    let first = Worker::start_with(&requests, &predictions, &checkpoint, 200, &["--start", "latest"]);
    let t0 = Instant::now();
    while !checkpoint.exists() {
        assert!(t0.elapsed() < Duration::from_secs(30), "no checkpoint written at start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The start time is checkpointed in milliseconds; the emulator may keep
    // arrival times more coarsely.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    put_to(&kinesis, &requests, hash_key(0), &data[200..300]).await;
    let fresh = |all: Vec<String>| all.into_iter().filter(|u| !old.contains(u)).collect::<Vec<_>>();
    let new_first = fresh(request_uuids(&kinesis, &requests, &arn).await);
    assert_eq!(new_first.len(), 100);
    wait_for(&kinesis, &predictions, &new_first).await;
    assert_eq!(first.terminate().code(), Some(0));
    let cp = Checkpoint::load(&checkpoint).unwrap();
    assert!(cp.since_ms.is_some() && cp.shards.len() == 1, "one child read, the time kept: {cp:?}");

    // The restart reads the idle child for the first time.
    let second = Worker::start(&requests, &predictions, &checkpoint, 200);
    put_to(&kinesis, &requests, hash_key(1), &data[300..400]).await;
    let new = fresh(request_uuids(&kinesis, &requests, &arn).await);
    assert_eq!(new.len(), 200);
    // A shard is read in order: an old record of the idle child would be
    // answered no later than the new ones after it.
    let outputs = wait_for(&kinesis, &predictions, &new).await;
    assert_eq!(second.terminate().code(), Some(0));
    let answered_old = old.iter().filter(|u| outputs.contains_key(*u)).count();
    assert_eq!(answered_old, 0, "records from before the first start answered");
    assert_eq!(outputs.len(), new.len());
}

/// A request asking for an hour is cut at `--max-solve-s` (here 1 s) and
/// answered, and so is the request behind it in the same shard. The
/// checkpoint keeps the stream's ARN, and a checkpoint of another stream is
/// refused at start with a message saying so.
#[tokio::test(flavor = "multi_thread")]
async fn an_hour_long_request_is_cut_and_another_streams_checkpoint_refused() {
    let Some(Streams { kinesis, requests, predictions, arn }) = streams("m", 1).await else {
        return;
    };
    let mut rng = fastrand::Rng::with_seed(5);
    let coords: Vec<[f64; 2]> = (0..30).map(|_| [rng.f64() * 20.0 + 30.0, rng.f64() * 40.0 - 120.0]).collect();
    let long = serde_json::json!({ "id": "hour", "coordinates": coords, "options": { "time_limit_ms": 3_600_000 } });
    let next = serde_json::json!({ "id": "next", "coordinates": coords });
    put_requests(&kinesis, &requests, &[long.to_string().into_bytes(), next.to_string().into_bytes()]).await;
    let uuids = request_uuids(&kinesis, &requests, &arn).await;
    assert_eq!(uuids.len(), 2);

    let checkpoint = TempCheckpoint::new();
    let worker = Worker::start_with(&requests, &predictions, &checkpoint, 1, &["--max-solve-s", "1"]);
    // Within wait_for's 90 s, not the hour asked for.
    let outputs = wait_for(&kinesis, &predictions, &uuids).await;
    assert_eq!(worker.terminate().code(), Some(0));
    for (uuid, id) in uuids.iter().zip(["hour", "next"]) {
        let v: Value = serde_json::from_slice(&outputs[uuid][0]).unwrap();
        assert_eq!(v["id"], id);
        assert_eq!(v["order"].as_array().unwrap().len(), 31, "{v}");
    }
    let mut cp = Checkpoint::load(&checkpoint).unwrap();
    assert_eq!(cp.stream_arn.as_deref(), Some(arn.as_str()));

    let other = "arn:aws:kinesis:us-east-1:000000000000:stream/another";
    cp.stream_arn = Some(other.to_string());
    cp.save(&checkpoint).unwrap();
    let mut refused = Worker::start(&requests, &predictions, &checkpoint, 1);
    let t0 = Instant::now();
    let status = loop {
        if let Some(status) = refused.child.try_wait().unwrap() {
            break status;
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "a checkpoint of another stream was taken");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(!status.success());
    let log = std::fs::read_to_string(checkpoint.with_extension("log")).unwrap();
    assert!(log.contains(&format!("belongs to stream {other}, not {arn}")), "{log}");
    assert_eq!(Checkpoint::load(&checkpoint).unwrap().stream_arn.as_deref(), Some(other), "the checkpoint was changed");
}

/// A worker whose endpoint takes connections and never answers, once its
/// first call (DescribeStreamSummary) is in flight. Needs no emulator.
fn silent_worker() -> (Child, TempCheckpoint) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let (connected, first) = std::sync::mpsc::channel();
    // Connections held open, never read or answered.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in listener.incoming().map_while(Result::ok) {
            let _ = connected.send(());
            held.push(c);
        }
    });
    let checkpoint = TempCheckpoint::new();
    let child = Command::new(env!("CARGO_BIN_EXE_route-optim"))
        .args(["worker", "--request-stream", "requests", "--prediction-stream", "predictions", "--checkpoint"])
        .arg(&*checkpoint)
        .env("AWS_ENDPOINT_URL", &endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("ROUTE_OPTIM_BACKEND", "cpu")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    first.recv_timeout(Duration::from_secs(30)).expect("the worker connects to its endpoint");
    (child, checkpoint)
}

/// The exit status of `child` within `limit`, and its stderr.
fn exit_within(mut child: Child, limit: Duration) -> (std::process::ExitStatus, String) {
    let t0 = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if t0.elapsed() > limit {
            let _ = child.kill();
            panic!("still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    (status, err)
}

/// An endpoint that never answers: the worker's first call times out, and
/// it exits with an error saying so, rather than waiting for ever.
#[test]
fn an_endpoint_that_never_answers_times_out() {
    let (child, _checkpoint) = silent_worker();
    let (status, err) = exit_within(child, Duration::from_secs(90));
    assert!(!status.success());
    assert!(err.to_lowercase().contains("timeout") || err.to_lowercase().contains("timed out"), "{err}");
}

/// The first SIGTERM lets the call in flight finish (here it would wait out
/// its 30 s timeout); a second quits at once, with status 130.
#[test]
fn a_second_sigterm_quits_at_once() {
    let (mut child, _checkpoint) = silent_worker();
    let term = |child: &Child| {
        assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    };
    term(&child);
    std::thread::sleep(Duration::from_millis(500));
    assert!(child.try_wait().unwrap().is_none(), "the first SIGTERM ended the worker at once");
    term(&child);
    let (status, err) = exit_within(child, Duration::from_secs(10));
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(err.contains("quitting at once"), "{err}");
}

/// Benchmark, not a test (`scripts/bench.sh worker`): sustained records/s of
/// one worker on 20-stop requests through kinesis-mock, beside the emulator's
/// own ceilings: a consumer that only reads (same 5 calls/s/shard pacing) and
/// a writer that only writes outputs of the same size.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "benchmark: run by scripts/bench.sh worker"]
async fn bench_worker_throughput() {
    const N: usize = 10_000;
    let Some(Streams { kinesis, requests, predictions, arn }) = streams("b", 4).await else {
        return;
    };
    let sink = unique("b-sink");
    create_stream(&kinesis, &sink).await;
    let mut rng = fastrand::Rng::with_seed(20);
    let data: Vec<Vec<u8>> = (0..N)
        .map(|k| {
            let coords: Vec<[f64; 2]> = (0..20).map(|_| [25.0 + rng.f64() * 24.0, -124.0 + rng.f64() * 57.0]).collect();
            serde_json::json!({"id": k, "coordinates": coords}).to_string().into_bytes()
        })
        .collect();
    put_requests(&kinesis, &requests, &data).await;

    // Read ceiling: every shard read to its end, in parallel, 200 ms apart.
    let t0 = Instant::now();
    let shards = kinesis.list_shards().stream_name(&requests).send().await.unwrap();
    let mut reads = tokio::task::JoinSet::new();
    for s in shards.shards() {
        let (k, stream, shard) = (kinesis.clone(), requests.clone(), s.shard_id().to_string());
        reads.spawn(async move {
            let it = k
                .get_shard_iterator()
                .stream_name(&stream)
                .shard_id(&shard)
                .shard_iterator_type(aws_sdk_kinesis::types::ShardIteratorType::TrimHorizon)
                .send()
                .await
                .unwrap();
            let mut iterator = it.shard_iterator().map(str::to_string);
            let mut n = 0;
            while let Some(i) = iterator {
                let page = k.get_records().shard_iterator(i).limit(1000).send().await.unwrap();
                n += page.records().len();
                if page.millis_behind_latest() == Some(0) && page.records().is_empty() {
                    break;
                }
                iterator = page.next_shard_iterator().map(str::to_string);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            n
        });
    }
    let read: usize = reads.join_all().await.into_iter().sum();
    let read_rate = read as f64 / t0.elapsed().as_secs_f64();

    // Write ceiling: outputs of a 20-stop prediction's size, written as the worker writes.
    let sample = route_optim::kinesis::encode(
        route_optim::batch::answer(
            &route_optim::solver::Engine::new(route_optim::solver::Backend::Simd),
            &route_optim::solver::Budget::default(),
            vec![route_optim::batch::Record {
                parsed: route_optim::request::parse(&data[0]),
                uuid: output_uuid(&arn, "0"),
                source: None,
            }],
        )
        .remove(0),
    );
    let outgoing: Vec<route_optim::kinesis::Outgoing> = (0..N)
        .map(|k| route_optim::kinesis::Outgoing {
            partition_key: k.to_string(),
            data: sample.data.clone(),
            error: false,
        })
        .collect();
    let writer = route_optim::kinesis::Writer::new(kinesis.clone(), &sink);
    let t0 = Instant::now();
    for chunk in outgoing.chunks(1000) {
        assert_eq!(writer.put_all(chunk, None).await.failed(), 0);
    }
    let write_rate = N as f64 / t0.elapsed().as_secs_f64();

    // The worker, from trim horizon until its checkpoint (written after the
    // outputs) reaches every shard's last record; polling the file, not the
    // emulator, so the measurement does not load it.
    let mut last = HashMap::new();
    for s in shards.shards() {
        if let Some(r) = read_shard(&kinesis, &requests, s.shard_id()).await.last() {
            last.insert(s.shard_id().to_string(), r.sequence_number().to_string());
        }
    }
    let checkpoint = TempCheckpoint::new();
    let t0 = Instant::now();
    let worker = Worker::start(&requests, &predictions, &checkpoint, 1000);
    loop {
        let cp = Checkpoint::load(&checkpoint).unwrap_or_default();
        if last.iter().all(|(s, seq)| cp.shards.get(s) == Some(seq)) {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(300), "worker too slow");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let worker_rate = N as f64 / t0.elapsed().as_secs_f64();
    assert_eq!(worker.terminate().code(), Some(0));
    let outputs = outputs_by_uuid(&kinesis, &predictions).await;
    assert!(request_uuids(&kinesis, &requests, &arn).await.iter().all(|u| outputs.contains_key(u)));
    println!(
        "worker: {worker_rate:.0} records/s; emulator ceilings: read-only consumer {read_rate:.0} records/s, \
         PutRecords of {} B outputs {write_rate:.0} records/s ({N} 20-stop requests, 4 shards)",
        sample.data.len()
    );
}
