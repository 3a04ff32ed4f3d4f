//! The worker against kinesis-mock on loopback (started by scripts/test.sh):
//! multi-shard streams, SIGTERM and SIGKILL, a shard split while it runs.
//! Each test uses streams and a checkpoint of its own.

mod support;

use route_optim::lambda::output_uuid;
use route_optim::worker::Checkpoint;
use serde_json::Value;
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::*;

struct Worker {
    child: Child,
}

impl Worker {
    fn start(requests: &str, predictions: &str, checkpoint: &std::path::Path, batch_max: usize) -> Worker {
        let log = std::fs::File::create(checkpoint.with_extension("log")).expect("worker log");
        let child = Command::new(env!("CARGO_BIN_EXE_route-optim"))
            .args(["worker", "--request-stream", requests, "--prediction-stream", predictions])
            .arg("--checkpoint")
            .arg(checkpoint)
            .args(["--batch-max", &batch_max.to_string(), "--batch-wait-ms", "50", "--log-every-s", "1"])
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

fn temp_checkpoint() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(unique("route-optim-worker"));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("checkpoint.json")
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

async fn request_uuids(kinesis: &aws_sdk_kinesis::Client, stream: &str, arn: &str) -> Vec<String> {
    read_all(kinesis, stream).await.iter().map(|r| output_uuid(arn, r.sequence_number())).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn four_shards_2000_requests_then_sigterm_checkpoints_the_last_record() {
    if services().is_none() {
        return;
    }
    let kinesis = client(None).await;
    let (requests, predictions) = (unique("w-req"), unique("w-pred"));
    let arn = create_stream_with(&kinesis, &requests, 4).await;
    create_stream(&kinesis, &predictions).await;
    let (data, expect) = mixed_batch();
    let data: Vec<Vec<u8>> = data.iter().cycle().take(2000).cloned().collect();
    put_requests(&kinesis, &requests, &data).await;
    let uuids = request_uuids(&kinesis, &requests, &arn).await;
    assert_eq!(uuids.len(), 2000);

    let checkpoint = temp_checkpoint();
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

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_mid_run_and_restart_loses_nothing() {
    if services().is_none() {
        return;
    }
    let kinesis = client(None).await;
    let (requests, predictions) = (unique("k-req"), unique("k-pred"));
    let arn = create_stream_with(&kinesis, &requests, 4).await;
    create_stream(&kinesis, &predictions).await;
    let (data, _) = mixed_batch();
    let data: Vec<Vec<u8>> = data.iter().cycle().take(2000).cloned().collect();
    put_requests(&kinesis, &requests, &data).await;
    let uuids = request_uuids(&kinesis, &requests, &arn).await;

    let checkpoint = temp_checkpoint();
    let mut first = Worker::start(&requests, &predictions, &checkpoint, 40);
    let t0 = Instant::now();
    while outputs_by_uuid(&kinesis, &predictions).await.len() < 200 {
        assert!(t0.elapsed() < Duration::from_secs(60), "no progress before the kill");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    first.child.kill().unwrap(); // SIGKILL: no chance to checkpoint the batch in flight
    first.child.wait().unwrap();
    drop(first);

    let second = Worker::start(&requests, &predictions, &checkpoint, 400);
    let outputs = wait_for(&kinesis, &predictions, &uuids).await;
    assert_eq!(second.terminate().code(), Some(0));
    for u in &uuids {
        let copies = &outputs[u];
        assert!(copies.iter().all(|c| c == &copies[0]), "duplicates have the same UUID and bytes");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_shard_split_while_running_loses_nothing() {
    if services().is_none() {
        return;
    }
    let kinesis = client(None).await;
    let (requests, predictions) = (unique("s-req"), unique("s-pred"));
    let arn = create_stream_with(&kinesis, &requests, 2).await;
    create_stream(&kinesis, &predictions).await;
    let (data, _) = mixed_batch();
    put_requests(&kinesis, &requests, &data[..250]).await;
    let checkpoint = temp_checkpoint();
    let worker = Worker::start(&requests, &predictions, &checkpoint, 200);
    wait_for(&kinesis, &predictions, &request_uuids(&kinesis, &requests, &arn).await).await;

    // Split the first shard at the middle of its hash range, then keep writing.
    let shards = kinesis.list_shards().stream_name(&requests).send().await.unwrap();
    let parent = &shards.shards()[0];
    let range = parent.hash_key_range().unwrap();
    let (lo, hi): (u128, u128) = (range.starting_hash_key().parse().unwrap(), range.ending_hash_key().parse().unwrap());
    kinesis
        .split_shard()
        .stream_name(&requests)
        .shard_to_split(parent.shard_id())
        .new_starting_hash_key((lo + (hi - lo) / 2).to_string())
        .send()
        .await
        .expect("SplitShard");
    wait_active(&kinesis, &requests).await;
    put_requests(&kinesis, &requests, &data[250..]).await;

    let uuids = request_uuids(&kinesis, &requests, &arn).await;
    assert_eq!(uuids.len(), 500);
    wait_for(&kinesis, &predictions, &uuids).await;
    assert_eq!(worker.terminate().code(), Some(0));
    let cp = Checkpoint::load(&checkpoint).unwrap();
    assert!(cp.finished.contains(parent.shard_id()), "the split parent is finished: {cp:?}");
}
