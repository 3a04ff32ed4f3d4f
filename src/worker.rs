//! The batch worker: a long-running Kinesis consumer for an EC2 instance.
//!
//! One reader task per open shard polls GetRecords (≈5 calls/s at most,
//! slower when the shard is idle or throttled) and sends pages into one
//! bounded channel. The main loop batches across shards by count and age,
//! solves a batch with the engine, writes every output with the same
//! PutRecords writer as the Lambda, and only then checkpoints: an atomic
//! write-and-rename of shard → last sequence number whose output is written.
//! A closed shard is finished once its last records are written; its children
//! start only after all their parents are finished. A crash replays at most
//! the records after the checkpoint, with the same UUIDs (and bytes, unless
//! a clock ended a search: `kinesis::encode`).

use crate::batch::{self, Record};
use crate::kinesis::{self, encode, Writer};
use crate::solver::{Budget, Engine, GPU_MIN_BATCH};
use aws_sdk_kinesis::types::{Shard, ShardIteratorType};
use aws_sdk_kinesis::Client;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// Where to start reading a shard that has no checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartPosition {
    TrimHorizon,
    Latest,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub request_stream: String,
    pub prediction_stream: String,
    pub checkpoint: PathBuf,
    /// Records that trigger a solve; a batch can exceed it by the rest of
    /// the GetRecords page that crossed it.
    pub batch_max: usize,
    pub batch_wait: Duration,
    pub start: StartPosition,
    /// How often the progress line is logged.
    pub log_every: Duration,
    /// Longest the searches of one batch run: a request's `time_limit_ms`
    /// (up to an hour) must not hold up its shard and every batch behind it.
    pub max_solve: Duration,
}

/// Progress that survives restarts.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Checkpoint {
    /// Shard → last sequence number whose output is written.
    pub shards: BTreeMap<String, String>,
    /// Closed shards whose every output is written.
    #[serde(default)]
    pub finished: BTreeSet<String>,
    /// With `--start latest`: when the worker first started (Unix ms). A
    /// shard with no entry in `shards` is read from then (AT_TIMESTAMP), on
    /// every start: a shard idle until a restart, and the children of a
    /// reshard older than the first start, hold nothing to answer from before
    /// it, and a child split later holds only records after it. Absent: from
    /// the horizon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_ms: Option<i64>,
    /// The request stream's ARN. Shard ids and sequence numbers mean nothing
    /// on another stream (a stream deleted and created again, or another
    /// `--request-stream`): there a finished `shardId-000000000000` would be
    /// skipped unread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_arn: Option<String>,
}

impl Checkpoint {
    /// The checkpoint at `path`, or an empty one when there is no file.
    pub fn load(path: &Path) -> anyhow::Result<Checkpoint> {
        match std::fs::read(path) {
            Ok(bytes) => {
                Ok(serde_json::from_slice(&bytes).map_err(|e| anyhow::anyhow!("checkpoint {}: {e}", path.display()))?)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Checkpoint::default()),
            Err(e) => Err(anyhow::anyhow!("checkpoint {}: {e}", path.display())),
        }
    }

    /// Writes a temporary file beside `path`, syncs it, and renames it over
    /// `path`: a reader sees the old checkpoint or the new one, never half.
    /// The directory is synced too, so that the rename outlives a power cut.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let tmp = path.with_extension("json.tmp");
        {
            let mut f = std::fs::File::create(&tmp)?;
            std::io::Write::write_all(&mut f, &serde_json::to_vec_pretty(self).expect("checkpoint serializes"))?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, path)?;
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::File::open(dir)?.sync_all()
    }
}

/// What readers send the batcher, in shard order.
enum Msg {
    Records {
        shard: String,
        records: Vec<aws_sdk_kinesis::types::Record>,
    },
    /// The shard is closed and everything in it has been sent.
    End {
        shard: String,
    },
}

/// Per-shard lag, for the progress line.
type Lag = Arc<Mutex<BTreeMap<String, i64>>>;

/// Runs until `shutdown` turns true, then finishes the batch in flight,
/// checkpoints and returns.
pub async fn run(
    config: Config,
    engine: Engine,
    client: Client,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    // Probed now rather than at the first large batch, so that the startup
    // line says whether this host's GPU will be used (off the runtime's
    // threads: opening a device blocks).
    let probe = engine.clone();
    let gpu = tokio::task::spawn_blocking(move || probe.gpu_for(GPU_MIN_BATCH).map(|g| g.adapter_info().name.clone()))
        .await?;
    let summary = client.describe_stream_summary().stream_name(&config.request_stream).send().await?;
    // The ARN names every output (UUID v5): without it they would not match the Lambda's.
    let arn = summary.stream_description_summary().map(|s| s.stream_arn().to_string()).unwrap_or_default();
    anyhow::ensure!(!arn.is_empty(), "stream {} has no ARN", config.request_stream);
    let writer = Writer::new(client.clone(), &config.prediction_stream);
    // `--start` applies on the very first start only: the checkpoint file
    // written now keeps it (and, for `latest`, the time it means) for restarts.
    let first_start = !config.checkpoint.exists();
    let mut checkpoint = Checkpoint::load(&config.checkpoint)?;
    match &checkpoint.stream_arn {
        Some(saved) if *saved != arn => anyhow::bail!(
            "checkpoint {} belongs to stream {saved}, not {arn} (a stream created again, or another \
             --request-stream): move it aside to start this stream afresh",
            config.checkpoint.display()
        ),
        _ => checkpoint.stream_arn = Some(arn.clone()),
    }
    if first_start && config.start == StartPosition::Latest {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
        checkpoint.since_ms = Some(i64::try_from(now.as_millis())?);
    }
    checkpoint.save(&config.checkpoint)?;
    // Long solves end early when asked to stop.
    let cancel = Arc::new(AtomicBool::new(false));
    let mut stop_watch = shutdown.clone();
    let flag = Arc::clone(&cancel);
    tokio::spawn(async move {
        while stop_watch.changed().await.is_ok() {
            if *stop_watch.borrow() {
                flag.store(true, Ordering::Relaxed);
            }
        }
    });
    let (tx, mut rx) = mpsc::channel::<Msg>(64);
    let lag: Lag = Arc::default();
    let mut readers = Readers {
        client: client.clone(),
        stream: config.request_stream.clone(),
        since_ms: checkpoint.since_ms,
        tx,
        lag: lag.clone(),
        shutdown: shutdown.clone(),
        running: BTreeSet::new(),
        tasks: tokio::task::JoinSet::new(),
    };
    let mut shards = list_shards(&client, &config.request_stream).await?;
    readers.spawn_ready(&checkpoint, &shards);
    tracing::info!(
        backend = engine.backend().name(),
        gpu = gpu.as_deref().unwrap_or("none"),
        stream = %config.request_stream,
        shards = shards.len(),
        "worker started"
    );

    let mut batch: Vec<(String, aws_sdk_kinesis::types::Record)> = Vec::new();
    let mut ends: Vec<String> = Vec::new();
    let mut batch_started: Option<Instant> = None;
    let mut relist = tokio::time::interval(Duration::from_secs(10));
    let mut progress = tokio::time::interval(config.log_every);
    // A long batch must not make the missed ticks fire in a burst.
    relist.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    progress.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut stats = Stats::default();
    loop {
        let wait = batch_started.map_or(Duration::from_secs(3600), |t| config.batch_wait.saturating_sub(t.elapsed()));
        let woke = tokio::select! {
            msg = rx.recv() => match msg {
                Some(Msg::Records { shard, records }) => {
                    batch_started.get_or_insert_with(Instant::now);
                    batch.extend(records.into_iter().map(|r| (shard.clone(), r)));
                    batch.len() >= config.batch_max
                }
                Some(Msg::End { shard }) => {
                    ends.push(shard);
                    true
                }
                None => true,
            },
            _ = tokio::time::sleep(wait) => true,
            _ = shutdown.changed() => true,
            _ = relist.tick() => {
                shards = list_shards(&client, &config.request_stream).await.unwrap_or(shards);
                readers.spawn_ready(&checkpoint, &shards);
                false
            }
            _ = progress.tick() => {
                stats.log(&lag);
                false
            }
        };
        // A stop writes the batch in flight whichever branch woke.
        let flush = woke || *shutdown.borrow();
        if flush && (!batch.is_empty() || !ends.is_empty()) {
            let done = std::mem::take(&mut batch);
            let n = done.len();
            let t0 = Instant::now();
            let budget = Budget {
                cancel: Some(Arc::clone(&cancel)),
                deadline: t0.checked_add(config.max_solve),
                ..Budget::default()
            };
            let latest = write_batch(&engine, &budget, &writer, &arn, done, &shutdown).await?;
            stats.add(n, t0.elapsed());
            checkpoint.shards.extend(latest);
            for shard in ends.drain(..) {
                readers.running.remove(&shard);
                checkpoint.finished.insert(shard);
            }
            checkpoint.save(&config.checkpoint)?;
            batch_started = None;
            readers.spawn_ready(&checkpoint, &shards);
        }
        if *shutdown.borrow() {
            break;
        }
    }
    // Readers stop at the flag; what they had not handed over is re-read on restart.
    readers.tasks.abort_all();
    stats.log(&lag);
    tracing::info!(checkpoint = %config.checkpoint.display(), "worker stopped");
    Ok(())
}

/// Solves and writes one batch; returns, per shard, the last sequence number
/// in it. Retries the writing until every output is in the stream: a record
/// is never checkpointed unwritten. Gives up only when asked to stop.
async fn write_batch(
    engine: &Engine,
    budget: &Budget,
    writer: &Writer,
    arn: &str,
    batch: Vec<(String, aws_sdk_kinesis::types::Record)>,
    shutdown: &watch::Receiver<bool>,
) -> anyhow::Result<HashMap<String, String>> {
    let mut latest = HashMap::new();
    let records: Vec<Record> = batch
        .into_iter()
        .map(|(shard, r)| {
            let seq = r.sequence_number().to_string();
            latest.insert(shard.clone(), seq.clone());
            kinesis::record(r.data().as_ref(), arn, shard, seq)
        })
        .collect();
    let (engine, budget) = (engine.clone(), budget.clone());
    let outgoing = tokio::task::spawn_blocking(move || {
        batch::answer(&engine, &budget, records).into_iter().map(encode).collect::<Vec<_>>()
    })
    .await?;
    let mut pending = outgoing;
    loop {
        let report = writer.put_all(&pending, None).await;
        pending = pending.into_iter().zip(report.written).filter(|(_, w)| !w).map(|(o, _)| o).collect();
        if pending.is_empty() {
            return Ok(latest);
        }
        tracing::warn!(
            unwritten = pending.len(),
            error = report.fatal.as_deref().unwrap_or(""),
            "outputs not written yet"
        );
        if *shutdown.borrow() {
            anyhow::bail!("stopping with {} outputs unwritten; their records stay after the checkpoint", pending.len());
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Open shards that can be read now: not finished, and every parent still
/// listed is finished (a parent past retention is no longer listed).
fn ready_shards(shards: &[Shard], checkpoint: &Checkpoint) -> Vec<String> {
    let listed: BTreeSet<&str> = shards.iter().map(|s| s.shard_id()).collect();
    shards
        .iter()
        .filter(|s| !checkpoint.finished.contains(s.shard_id()))
        .filter(|s| {
            [s.parent_shard_id(), s.adjacent_parent_shard_id()]
                .into_iter()
                .flatten()
                .all(|p| !listed.contains(p) || checkpoint.finished.contains(p))
        })
        .map(|s| s.shard_id().to_string())
        .collect()
}

async fn list_shards(client: &Client, stream: &str) -> anyhow::Result<Vec<Shard>> {
    let mut shards = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let req = match &token {
            Some(t) => client.list_shards().next_token(t),
            None => client.list_shards().stream_name(stream),
        };
        let out = req.send().await?;
        shards.extend(out.shards().iter().cloned());
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(shards);
        }
    }
}

/// The reader tasks and what a new one needs.
struct Readers {
    client: Client,
    stream: String,
    since_ms: Option<i64>,
    tx: mpsc::Sender<Msg>,
    lag: Lag,
    shutdown: watch::Receiver<bool>,
    running: BTreeSet<String>,
    tasks: tokio::task::JoinSet<()>,
}

impl Readers {
    /// Starts a reader for every ready shard that has none.
    fn spawn_ready(&mut self, checkpoint: &Checkpoint, shards: &[Shard]) {
        for shard in ready_shards(shards, checkpoint) {
            if self.running.insert(shard.clone()) {
                let reader = Reader {
                    client: self.client.clone(),
                    stream: self.stream.clone(),
                    after: checkpoint.shards.get(&shard).cloned(),
                    since_ms: self.since_ms,
                    shard,
                    tx: self.tx.clone(),
                    lag: self.lag.clone(),
                    shutdown: self.shutdown.clone(),
                };
                self.tasks.spawn(reader.run());
            }
        }
    }
}

/// Why GetShardIterator gave no answer.
enum Failed {
    /// ResourceNotFoundException: the shard (or the stream) does not exist.
    NotFound,
    Other,
}

struct Reader {
    client: Client,
    stream: String,
    shard: String,
    /// Last sequence number read (from the checkpoint at first).
    after: Option<String>,
    /// Without `after`: read from this time, else from the horizon.
    since_ms: Option<i64>,
    tx: mpsc::Sender<Msg>,
    lag: Lag,
    shutdown: watch::Receiver<bool>,
}

/// Pause between GetRecords calls on a busy shard: Kinesis allows 5 a second.
const POLL: Duration = Duration::from_millis(200);
const IDLE_MAX: Duration = Duration::from_secs(1);
const THROTTLED_MAX: Duration = Duration::from_secs(5);

impl Reader {
    /// A shard iterator at the reader's position: `Ok(None)` when Kinesis
    /// answers without one, which it may do for a closed shard asked for a
    /// position past its last record (a restart from a checkpoint at a split
    /// parent's end); `Err` when the call failed, with whether Kinesis said
    /// the shard does not exist.
    async fn iterator(&self) -> Result<Option<String>, Failed> {
        let req = self.client.get_shard_iterator().stream_name(&self.stream).shard_id(&self.shard);
        let req = match (&self.after, self.since_ms) {
            (Some(seq), _) => {
                req.shard_iterator_type(ShardIteratorType::AfterSequenceNumber).starting_sequence_number(seq)
            }
            (None, Some(ms)) => req
                .shard_iterator_type(ShardIteratorType::AtTimestamp)
                .timestamp(aws_sdk_kinesis::primitives::DateTime::from_millis(ms)),
            (None, None) => req.shard_iterator_type(ShardIteratorType::TrimHorizon),
        };
        match req.send().await {
            Ok(out) => Ok(out.shard_iterator().map(str::to_string)),
            Err(e) => {
                tracing::warn!(shard = %self.shard, error = %aws_sdk_kinesis::error::DisplayErrorContext(&e), "GetShardIterator failed");
                let missing = e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception());
                Err(if missing { Failed::NotFound } else { Failed::Other })
            }
        }
    }

    /// The shard as ListShards lists it now; `Err` when ListShards failed.
    async fn listed(&self) -> Result<Option<Shard>, ()> {
        match list_shards(&self.client, &self.stream).await {
            Ok(shards) => Ok(shards.into_iter().find(|s| s.shard_id() == self.shard)),
            Err(e) => {
                tracing::warn!(shard = %self.shard, error = format!("{e:#}"), "ListShards failed");
                Err(())
            }
        }
    }

    /// Whether the shard is closed: listed with an ending sequence number, or
    /// no longer listed (past retention, nothing left to read). `Err` when
    /// ListShards failed.
    async fn closed(&self) -> Result<bool, ()> {
        Ok(self
            .listed()
            .await?
            .is_none_or(|s| s.sequence_number_range().is_some_and(|r| r.ending_sequence_number().is_some())))
    }

    /// Tells the dispatcher the shard is read to its end (its children may
    /// start once every parent is).
    async fn end(&self) {
        let _ = self.tx.send(Msg::End { shard: self.shard.clone() }).await;
        tracing::info!(shard = %self.shard, "shard closed and read to its end");
    }

    /// Ends a shard that Kinesis says does not exist and ListShards no
    /// longer lists: it passed retention while being read, and nothing is
    /// left to read. Asking again would go on for ever, once a second.
    async fn end_if_gone(&self) -> bool {
        if !matches!(self.listed().await, Ok(None)) {
            return false;
        }
        tracing::warn!(shard = %self.shard, "the shard no longer exists (past retention): its unread records are lost; it is finished");
        let _ = self.tx.send(Msg::End { shard: self.shard.clone() }).await;
        true
    }

    async fn run(mut self) {
        let mut pause = POLL;
        let mut iterator = None;
        while !*self.shutdown.borrow() {
            if iterator.is_none() {
                match self.iterator().await {
                    Ok(Some(it)) => iterator = Some(it),
                    // Only a closed shard has an end: an open one answered
                    // so (no service is known to) is asked again.
                    Ok(None) if self.closed().await == Ok(true) => return self.end().await,
                    Ok(None) => {
                        tracing::warn!(shard = %self.shard, "GetShardIterator gave no iterator for a shard not known to be closed; asking again");
                        self.sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                    Err(Failed::NotFound) if self.end_if_gone().await => return,
                    Err(_) => {
                        self.sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                }
            }
            let it = iterator.take().unwrap_or_default();
            match self.client.get_records().shard_iterator(&it).limit(1000).send().await {
                Ok(page) => {
                    if let Some(ms) = page.millis_behind_latest() {
                        self.lag.lock().expect("lag lock").insert(self.shard.clone(), ms);
                    }
                    let records = page.records().to_vec();
                    pause = if records.is_empty() { (pause * 2).min(IDLE_MAX) } else { POLL };
                    if let Some(last) = records.last() {
                        self.after = Some(last.sequence_number().to_string());
                        if self.tx.send(Msg::Records { shard: self.shard.clone(), records }).await.is_err() {
                            return;
                        }
                    }
                    match page.next_shard_iterator() {
                        Some(next) => iterator = Some(next.to_string()),
                        None => return self.end().await,
                    }
                }
                Err(e) => {
                    // Keep the iterator (and so the position) unless it expired:
                    // then a new one is taken after the last record read.
                    let service = e.as_service_error();
                    if service.is_some_and(|s| s.is_expired_iterator_exception()) {
                        tracing::info!(shard = %self.shard, "iterator expired; getting a new one");
                    } else if service.is_some_and(|s| s.is_resource_not_found_exception()) && self.end_if_gone().await {
                        return;
                    } else {
                        iterator = Some(it);
                        if service.is_some_and(|s| s.is_provisioned_throughput_exceeded_exception()) {
                            pause = (pause * 2).min(THROTTLED_MAX);
                        } else {
                            tracing::warn!(shard = %self.shard, error = %aws_sdk_kinesis::error::DisplayErrorContext(&e), "GetRecords failed");
                            pause = IDLE_MAX;
                        }
                    }
                }
            }
            self.sleep(pause).await;
        }
    }

    async fn sleep(&mut self, d: Duration) {
        tokio::select! {
            _ = tokio::time::sleep(d) => {}
            _ = self.shutdown.changed() => {}
        }
    }
}

#[derive(Default)]
struct Stats {
    since: Option<Instant>,
    records: usize,
    last_batch: usize,
    last_solve: Duration,
}

impl Stats {
    fn add(&mut self, n: usize, took: Duration) {
        self.since.get_or_insert_with(Instant::now);
        self.records += n;
        self.last_batch = n;
        self.last_solve = took;
    }

    fn log(&mut self, lag: &Lag) {
        let secs = self.since.map_or(0.0, |t| t.elapsed().as_secs_f64());
        let rate = if secs > 0.0 { self.records as f64 / secs } else { 0.0 };
        let behind = format!("{:?}", lag.lock().expect("lag lock"));
        tracing::info!(
            records_per_s = format!("{rate:.0}"),
            batch = self.last_batch,
            batch_ms = format!("{:.1}", self.last_solve.as_secs_f64() * 1e3),
            millis_behind_latest = %behind,
            "progress"
        );
        (self.since, self.records) = (Some(Instant::now()), 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(id: &str, parent: Option<&str>, adjacent: Option<&str>) -> Shard {
        Shard::builder()
            .shard_id(id)
            .set_parent_shard_id(parent.map(str::to_string))
            .set_adjacent_parent_shard_id(adjacent.map(str::to_string))
            .hash_key_range(
                aws_sdk_kinesis::types::HashKeyRange::builder()
                    .starting_hash_key("0")
                    .ending_hash_key("1")
                    .build()
                    .unwrap(),
            )
            .sequence_number_range(
                aws_sdk_kinesis::types::SequenceNumberRange::builder().starting_sequence_number("0").build().unwrap(),
            )
            .build()
            .unwrap()
    }

    #[test]
    fn children_wait_for_every_parent() {
        let shards = vec![
            shard("a", None, None),
            shard("b", None, None),
            shard("c", Some("a"), None),
            shard("d", Some("a"), Some("b")),
        ];
        let mut cp = Checkpoint::default();
        assert_eq!(ready_shards(&shards, &cp), ["a", "b"]);
        cp.finished.insert("a".into());
        assert_eq!(ready_shards(&shards, &cp), ["b", "c"]);
        cp.finished.insert("b".into());
        assert_eq!(ready_shards(&shards, &cp), ["c", "d"]);
        // A parent past retention is no longer listed: its children are ready.
        assert_eq!(ready_shards(&shards[2..], &Checkpoint::default()), ["c", "d"]);
    }

    #[test]
    fn checkpoint_round_trips_atomically() {
        let dir = std::env::temp_dir().join(format!("route-optim-cp-{}", fastrand::u64(..)));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("checkpoint.json");
        assert_eq!(Checkpoint::load(&path).unwrap(), Checkpoint::default());
        let mut cp = Checkpoint::default();
        cp.shards.insert("shardId-000000000000".into(), "4960".into());
        cp.finished.insert("shardId-000000000001".into());
        cp.save(&path).unwrap();
        assert_eq!(Checkpoint::load(&path).unwrap(), cp);
        assert!(!path.with_extension("json.tmp").exists());
        std::fs::write(&path, b"{not json").unwrap();
        assert!(Checkpoint::load(&path).unwrap_err().to_string().contains("checkpoint"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
