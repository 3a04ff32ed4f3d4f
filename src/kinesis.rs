//! Writing outputs to a Kinesis stream with PutRecords, shared by the Lambda
//! handler and the worker.
//!
//! Kinesis takes at most 500 records and 5 MiB (data plus partition keys) a
//! call, and answers per record: some entries of a successful call can still
//! fail (throttling). Only the failed entries are sent again, after an
//! exponential backoff with full jitter: until the deadline where there is
//! one (Lambda), else a capped number of times (the worker). Errors
//! that retrying cannot fix (no such stream, access denied) end at once.

use crate::batch::Record;
use crate::output::{ErrorBody, ErrorRecord, Output, Prediction, Source};
use crate::request::{self, Rejected, Request, RequestError};
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use aws_sdk_kinesis::Client;
use std::time::{Duration, Instant};

/// PutRecords limits.
pub const MAX_RECORDS_PER_CALL: usize = 500;
pub const MAX_BYTES_PER_CALL: usize = 5 << 20;
/// One record's data plus partition key.
pub const MAX_RECORD_BYTES: usize = 1 << 20;

/// Namespace of the deterministic output UUIDs (UUID v5 of "ARN/sequence").
const UUID_NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6f1d_3c2e_8a47_4b9e_9c55_2d0e_7b1a_f4c3);

/// The output UUID of a record: the same for every redelivery.
pub fn output_uuid(event_source_arn: &str, sequence_number: &str) -> String {
    uuid::Uuid::new_v5(&UUID_NAMESPACE, format!("{event_source_arn}/{sequence_number}").as_bytes()).to_string()
}

/// The first bytes of a record the Kinesis Producer Library aggregated.
const KPL_MAGIC: [u8; 4] = [0xf3, 0x89, 0x9a, 0xc2];

/// A record read from a stream, decoded, with its output's identity. A
/// request whose prediction cannot fit one output record is refused here,
/// before any time is spent solving it. A KPL aggregate (many requests in
/// one record, sharing its sequence number and so its output's UUID) is
/// answered with one error record that says so, rather than serde's
/// "expected value at line 1 column 1".
pub fn record(data: &[u8], stream_arn: &str, shard_id: String, sequence_number: String) -> Record {
    let uuid = output_uuid(stream_arn, &sequence_number);
    let source = Some(Source { shard_id, sequence_number });
    let parsed = if data.starts_with(&KPL_MAGIC) {
        let why = "a record aggregated by the Kinesis Producer Library (its magic bytes F3 89 9A C2), not one \
                   request: send one request a record (KPL AggregationEnabled=false)";
        Err(Rejected { id: None, error: RequestError::InvalidJson(why.into()) })
    } else {
        request::parse(data).and_then(|req| fits(req, &uuid, &source, data.len()))
    };
    Record { parsed, uuid, source }
}

/// A prediction takes less than eight bytes for each byte of its request
/// (the 6 bytes of `[0,0],` come back as `[0.0,0.0],` with an index, the
/// index as a name and a leg of up to 20 digits: about 46; the test below
/// asserts under 8, and its requests give at most 4.75): requests below
/// this size always fit and are not measured.
const FITS_BELOW: usize = MAX_RECORD_BYTES / 16;

/// `req`, or a `too_large` rejection when even its shortest possible
/// prediction ([`Prediction::floor`]) is over the record limit.
fn fits(req: Request, uuid: &str, source: &Option<Source>, request_bytes: usize) -> Result<Request, Rejected> {
    if request_bytes < FITS_BELOW {
        return Ok(req);
    }
    let Ok(floor) = Prediction::floor(uuid.to_string(), &req, source.clone()) else { return Ok(req) };
    let bytes = serde_json::to_vec(&Output::Prediction(floor)).map_or(0, |d| d.len()) + uuid.len();
    if bytes <= MAX_RECORD_BYTES {
        return Ok(req);
    }
    Err(Rejected { id: req.id, error: RequestError::PredictionTooLarge { bytes, max: MAX_RECORD_BYTES } })
}

/// One record to write.
#[derive(Clone, Debug)]
pub struct Outgoing {
    pub partition_key: String,
    pub data: Vec<u8>,
    /// An error record: the request's, or `too_large` in a prediction's place.
    pub error: bool,
}

impl Outgoing {
    fn size(&self) -> usize {
        self.data.len() + self.partition_key.len()
    }
}

/// What happened to a `put_all`.
#[derive(Debug, Default)]
pub struct WriteReport {
    /// Per input record, whether it is in the stream.
    pub written: Vec<bool>,
    /// Entries sent again after a failure.
    pub retried: usize,
    /// The last error that stopped writing early, if any.
    pub fatal: Option<String>,
}

impl WriteReport {
    pub fn failed(&self) -> usize {
        self.written.iter().filter(|w| !**w).count()
    }

    /// The first record, in input order, that is not written.
    pub fn first_failed(&self) -> Option<usize> {
        self.written.iter().position(|w| !w)
    }
}

/// The PutRecords writer for one stream; cheap to share.
#[derive(Clone, Debug)]
pub struct Writer {
    client: Client,
    stream: String,
    /// Calls per entry at most; with a deadline, rounds where every failure
    /// was throttling do not count (those entries are sent again until it).
    pub max_attempts: u32,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
}

impl Writer {
    pub fn new(client: Client, stream: impl Into<String>) -> Writer {
        Writer {
            client,
            stream: stream.into(),
            max_attempts: 6,
            backoff_base: Duration::from_millis(50),
            backoff_cap: Duration::from_secs(2),
        }
    }

    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// Writes every record, resending failed entries; never panics and never
    /// returns early without saying which records are not written. With a
    /// `deadline` (the Lambda's invocation deadline) it returns by then: no
    /// call or resend starts after it, and a call still waiting for its
    /// answer is given up and its records counted as not written (they may
    /// have landed; a replay writes the same outputs). The client's own
    /// timeouts (30 s a call) would otherwise outlast the invocation, and
    /// Lambda would never get the partial-batch response. Until the
    /// deadline, failed entries (throttled, `InternalFailure`, a call that
    /// failed or timed out) are sent again however often: a record given up
    /// with time left is solved again, with every record after it, when
    /// Lambda resends the batch, and each resend spends one of the event
    /// source's retries. Without a deadline (the worker, which retries
    /// batches itself), `max_attempts` calls.
    pub async fn put_all(&self, records: &[Outgoing], deadline: Option<Instant>) -> WriteReport {
        let mut report = WriteReport { written: vec![false; records.len()], ..WriteReport::default() };
        let mut pending: Vec<usize> = (0..records.len()).collect();
        let mut rng = fastrand::Rng::new();
        for attempt in 0.. {
            if pending.is_empty() || deadline.is_none() && attempt >= self.max_attempts {
                break;
            }
            if attempt > 0 {
                let pause = self.backoff(attempt, &mut rng);
                if deadline.is_some_and(|d| Instant::now() + pause >= d) {
                    break;
                }
                report.retried += pending.len();
                tokio::time::sleep(pause).await;
            }
            let mut failed = Vec::new();
            for chunk in chunks(records, &pending) {
                let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
                if left.is_some_and(|l| l.is_zero()) {
                    failed.extend_from_slice(chunk);
                    continue;
                }
                let entries = chunk
                    .iter()
                    .map(|&i| {
                        PutRecordsRequestEntry::builder()
                            .data(Blob::new(records[i].data.clone()))
                            .partition_key(&records[i].partition_key)
                            .build()
                            .expect("data and partition key are set")
                    })
                    .collect();
                let call = self.client.put_records().stream_name(&self.stream).set_records(Some(entries)).send();
                let answered = match left {
                    Some(left) => tokio::time::timeout(left, call).await,
                    None => Ok(call.await),
                };
                let Ok(answered) = answered else {
                    tracing::warn!(stream = %self.stream, records = chunk.len(), "PutRecords given up at the deadline");
                    failed.extend_from_slice(chunk);
                    continue;
                };
                match answered {
                    Ok(out) => {
                        for (k, &i) in chunk.iter().enumerate() {
                            match out.records().get(k) {
                                Some(r) if r.error_code().is_none() => report.written[i] = true,
                                _ => failed.push(i),
                            }
                        }
                    }
                    Err(e) => {
                        let service = e.as_service_error();
                        // Errors that resending cannot mend.
                        let fatal = service.is_some_and(|s| {
                            s.is_resource_not_found_exception()
                                || s.is_invalid_argument_exception()
                                || s.is_access_denied_exception()
                                || s.is_kms_access_denied_exception()
                                || s.is_kms_disabled_exception()
                                || s.is_kms_invalid_state_exception()
                                || s.is_kms_not_found_exception()
                                || s.is_kms_opt_in_required()
                        });
                        let message = aws_sdk_kinesis::error::DisplayErrorContext(&e).to_string();
                        tracing::warn!(stream = %self.stream, error = %message, fatal, "PutRecords failed");
                        if fatal {
                            report.fatal = Some(message);
                            return report;
                        }
                        failed.extend_from_slice(chunk);
                    }
                }
            }
            pending = failed;
        }
        report
    }

    /// Full jitter: uniform in [0, min(cap, base · 2^attempt)].
    fn backoff(&self, attempt: u32, rng: &mut fastrand::Rng) -> Duration {
        let ceiling = self.backoff_base.saturating_mul(1 << attempt.min(20)).min(self.backoff_cap);
        ceiling.mul_f64(rng.f64())
    }
}

/// Splits the pending indices into calls of ≤ 500 records and ≤ 5 MiB.
fn chunks<'a>(records: &[Outgoing], pending: &'a [usize]) -> Vec<&'a [usize]> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (k, &i) in pending.iter().enumerate() {
        let size = records[i].size();
        if k > start && (k - start == MAX_RECORDS_PER_CALL || bytes + size > MAX_BYTES_PER_CALL) {
            out.push(&pending[start..k]);
            (start, bytes) = (k, 0);
        }
        bytes += size;
    }
    if start < pending.len() {
        out.push(&pending[start..]);
    }
    out
}

/// An output as a Kinesis record keyed by its UUID, without the solve time
/// (so a redelivery writes the same bytes, as long as its search ends on its
/// own rather than on a clock: a deadline can stop it on another tour). A
/// prediction too large for one record (1 MiB) is replaced by an error
/// record saying so.
pub fn encode(mut output: Output) -> Outgoing {
    if let Output::Prediction(p) = &mut output {
        p.solver.ms = None;
    }
    let data = serde_json::to_vec(&output).expect("outputs serialize");
    let (uuid, id, source) = match &output {
        Output::Prediction(p) => (&p.uuid, &p.id, &p.source),
        Output::Error(e) => (&e.uuid, &e.id, &e.source),
    };
    let fits = data.len() + uuid.len() <= MAX_RECORD_BYTES;
    let error = !fits || matches!(output, Output::Error(_));
    let data = if fits {
        data
    } else {
        let too_large = Output::Error(ErrorRecord {
            uuid: uuid.clone(),
            id: id.clone(),
            error: ErrorBody {
                code: "too_large",
                message: format!(
                    "prediction: {} bytes with its partition key exceed the Kinesis record limit of \
                     {MAX_RECORD_BYTES} bytes",
                    data.len() + uuid.len()
                ),
            },
            source: source.clone(),
        });
        serde_json::to_vec(&too_large).expect("outputs serialize")
    };
    Outgoing { partition_key: uuid.clone(), data, error }
}

/// A writer to a loopback endpoint that takes connections and never
/// answers (a stalled Kinesis), with a client that has no call or read
/// timeout: for tests of what a deadline bounds.
#[cfg(test)]
pub(crate) fn writer_to_silent_endpoint() -> Writer {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let endpoint = format!("http://{}", listener.local_addr().expect("its address"));
    std::thread::spawn(move || {
        let held: Vec<_> = listener.incoming().map_while(Result::ok).collect();
        drop(held);
    });
    let config = aws_sdk_kinesis::Config::builder()
        .behavior_version(aws_sdk_kinesis::config::BehaviorVersion::latest())
        .region(aws_sdk_kinesis::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_kinesis::config::Credentials::new("test", "test", None, None, "test"))
        .endpoint_url(endpoint)
        .build();
    Writer::new(Client::from_conf(config), "predictions")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::{ErrorBody, ErrorRecord};

    #[test]
    fn output_uuids_are_deterministic_and_distinct() {
        let a = output_uuid("arn:aws:kinesis:us-east-1:000000000000:stream/requests", "4960");
        assert_eq!(a, output_uuid("arn:aws:kinesis:us-east-1:000000000000:stream/requests", "4960"));
        assert_ne!(a, output_uuid("arn:aws:kinesis:us-east-1:000000000000:stream/requests", "4961"));
        assert_ne!(a, output_uuid("arn:aws:kinesis:us-east-1:000000000000:stream/other", "4960"));
        assert_eq!(uuid::Uuid::parse_str(&a).unwrap().get_version_num(), 5);
    }

    fn rec(bytes: usize) -> Outgoing {
        Outgoing { partition_key: "k".repeat(36), data: vec![b'x'; bytes], error: false }
    }

    #[test]
    fn chunks_respect_count_and_size_limits() {
        let mut rng = fastrand::Rng::with_seed(1);
        let records: Vec<Outgoing> = (0..3000)
            .map(|_| rec(if rng.u8(..) < 20 { rng.usize(100_000..1_000_000) } else { rng.usize(10..2000) }))
            .collect();
        let pending: Vec<usize> = (0..records.len()).filter(|i| i % 7 != 3).collect();
        let calls = chunks(&records, &pending);
        let flat: Vec<usize> = calls.iter().flat_map(|c| c.iter().copied()).collect();
        assert_eq!(flat, pending, "every pending record exactly once, in order");
        for c in &calls {
            assert!(!c.is_empty() && c.len() <= MAX_RECORDS_PER_CALL);
            assert!(c.iter().map(|&i| records[i].size()).sum::<usize>() <= MAX_BYTES_PER_CALL);
        }
        // Greedy packing: a call ends only because the next record would not fit.
        for w in calls.windows(2) {
            let next = records[w[1][0]].size();
            let used: usize = w[0].iter().map(|&i| records[i].size()).sum();
            assert!(w[0].len() == MAX_RECORDS_PER_CALL || used + next > MAX_BYTES_PER_CALL);
        }
    }

    /// A record read from a stream, answered and encoded as the Lambda and
    /// the worker do: the prediction keeps its source and drops its timing
    /// (so a replay writes the same bytes); one over the record limit
    /// becomes a `too_large` error record with the same identity.
    #[test]
    fn predictions_are_encoded_for_the_stream() {
        use crate::solver::{Backend, Budget, Engine};
        let (engine, budget) = (Engine::new(Backend::Simd), Budget { kicks: Some(0), ..Budget::default() });
        let arn = "arn:aws:kinesis:us-east-1:000000000000:stream/requests";
        let answer = |body: String| {
            let r = record(body.as_bytes(), arn, "shardId-000000000001".into(), "77".into());
            encode(crate::batch::answer(&engine, &budget, vec![r]).remove(0))
        };
        let request = |first: &str| {
            format!(
                r#"{{"id": "r", "locations": ["{first}", "B", "C"], "coordinates": [[40, -90], [41, -90], [40, -91]]}}"#
            )
        };
        let small = answer(request("A"));
        assert!(!small.error);
        assert_eq!(small.partition_key, output_uuid(arn, "77"));
        let v: serde_json::Value = serde_json::from_slice(&small.data).unwrap();
        assert_eq!(v["UUID"], output_uuid(arn, "77"));
        assert_eq!((v["route"][0].as_str(), v["route"][3].as_str()), (Some("A"), Some("A")));
        assert_eq!(v["source"], serde_json::json!({"shard_id": "shardId-000000000001", "sequence_number": "77"}));
        assert!(v["solver"]["backend"].is_string() && v["solver"].get("ms").is_none(), "{}", v["solver"]);

        // The first name appears twice in a round trip's route. A name that
        // leaves the shortest prediction 10 bytes under the limit passes the
        // check before solving; the legs' digits then take it over.
        let floor = |name: &str| {
            let r = record(request(name).as_bytes(), arn, "shardId-000000000001".into(), "77".into());
            let p = Prediction::floor(r.uuid.clone(), &r.parsed.expect("fits"), r.source).unwrap();
            serde_json::to_vec(&Output::Prediction(p)).unwrap().len() + r.uuid.len()
        };
        let name = "x".repeat((MAX_RECORD_BYTES - 10 - floor("")) / 2);
        assert!(floor(&name) <= MAX_RECORD_BYTES);
        let big = answer(request(&name));
        assert!(big.error, "counted as an error record");
        assert!(big.data.len() < 1000, "{}", big.data.len());
        assert_eq!(big.partition_key, output_uuid(arn, "77"));
        let v: serde_json::Value = serde_json::from_slice(&big.data).unwrap();
        assert_eq!(v["error"]["code"], "too_large");
        assert!(v["error"]["message"].as_str().unwrap().starts_with("prediction: 1048"), "{}", v["error"]);
        assert_eq!((&v["UUID"], &v["id"]), (&serde_json::json!(output_uuid(arn, "77")), &serde_json::json!("r")));
        assert_eq!(v["source"]["sequence_number"], "77");
    }

    /// An invalid record of 600 KB is answered with its own error, not a
    /// `too_large` one about a prediction: its message quotes at most about
    /// 1 KB of it (it once quoted the 600 KB key twice).
    #[test]
    fn large_invalid_records_keep_their_error() {
        use crate::solver::{Backend, Budget, Engine};
        let (engine, budget) = (Engine::new(Backend::Simd), Budget::default());
        let body = format!(r#"{{"coordinates": [[0, 0]], "{}": 1}}"#, "k".repeat(600_000));
        let r = record(body.as_bytes(), "arn", "shardId-000000000001".into(), "5".into());
        let out = encode(crate::batch::answer(&engine, &budget, vec![r]).remove(0));
        assert!(out.error && out.data.len() < 2000, "{} bytes", out.data.len());
        let v: serde_json::Value = serde_json::from_slice(&out.data).unwrap();
        assert_eq!(v["error"]["code"], "invalid_request");
        assert!(v["error"]["message"].as_str().unwrap().contains(": unknown field `kkk"), "{}", v["error"]);
    }

    /// Requests of `n` points with integer coordinates, with names or not.
    fn requests(rng: &mut fastrand::Rng, n: usize, names: bool, options: &str) -> String {
        let coords: Vec<String> = (0..n).map(|_| format!("[{},{}]", rng.i32(-9..9), rng.i32(-9..9))).collect();
        let names = if names {
            let l: Vec<String> = (0..n).map(|i| format!("\"s{}\"", "x".repeat(i % 7))).collect();
            format!(r#""locations": [{}], "#, l.join(","))
        } else {
            String::new()
        };
        format!(r#"{{"id": 5, {names}"coordinates": [{}], "options": {{{options}}}}}"#, coords.join(","))
    }

    /// What the shortest possible prediction of a request measures is never
    /// more than the one the stream gets, and no prediction is as much as
    /// 8 times its request (records under `FITS_BELOW`, a 16th of the limit,
    /// are not measured).
    #[test]
    fn the_floor_bounds_the_prediction() {
        use crate::solver::{Backend, Budget, Engine};
        let (engine, budget) = (Engine::new(Backend::Simd), Budget { kicks: Some(0), ..Budget::default() });
        let mut rng = fastrand::Rng::with_seed(3);
        for options in ["", r#""round_trip": false"#, r#""start": 3, "round_trip": false, "end": 1"#, r#""start": 2"#] {
            for n in [4, 30, 700] {
                for names in [false, true] {
                    let body = requests(&mut rng, n, names, options);
                    let parsed = request::parse(body.as_bytes()).expect("a valid request");
                    let floor = Prediction::floor("u".into(), &parsed, None).expect("a floor");
                    let floor = serde_json::to_vec(&Output::Prediction(floor)).unwrap().len();
                    let r = Record { parsed: Ok(parsed), uuid: "u".into(), source: None };
                    let out = encode(crate::batch::answer(&engine, &budget, vec![r]).remove(0));
                    assert!(!out.data.starts_with(br#"{"UUID":"u","error""#));
                    assert!(floor <= out.data.len(), "{options} n={n}: floor {floor} > {}", out.data.len());
                    assert!(out.data.len() < 8 * body.len(), "{options} n={n}: {} from {}", out.data.len(), body.len());
                }
            }
        }
    }

    /// A request under the record limit whose prediction cannot be is
    /// refused as it is decoded, never solved, with its identity.
    #[test]
    fn a_prediction_that_cannot_fit_is_refused_before_solving() {
        let arn = "arn:aws:kinesis:us-east-1:000000000000:stream/requests";
        let body = requests(&mut fastrand::Rng::with_seed(4), 60_000, true, "");
        assert!(body.len() < MAX_RECORD_BYTES, "{}", body.len());
        let r = record(body.as_bytes(), arn, "shardId-000000000002".into(), "9".into());
        let Err(rejected) = &r.parsed else { panic!("a request with a prediction over 1 MiB was accepted") };
        assert_eq!(rejected.error.code(), "too_large");
        let message = rejected.error.to_string();
        assert!(message.starts_with("prediction: at least ") && message.contains("Kinesis record limit"), "{message}");
        let out = encode(Output::Error(ErrorRecord::new(r.uuid.clone(), rejected, r.source.clone())));
        let v: serde_json::Value = serde_json::from_slice(&out.data).unwrap();
        assert_eq!(
            (&v["UUID"], &v["id"], &v["error"]["code"]),
            (&serde_json::json!(r.uuid), &serde_json::json!(5), &serde_json::json!("too_large"))
        );
        assert_eq!(v["source"]["sequence_number"], "9");
        // Half as many points fit, and are solved.
        let half = requests(&mut fastrand::Rng::with_seed(4), 30_000, true, "");
        assert!(record(half.as_bytes(), arn, "s".into(), "10".into()).parsed.is_ok());
    }

    /// A KPL aggregate gets one error record saying what it is; a record
    /// that only starts with some of its magic bytes is plain bad JSON.
    #[test]
    fn kpl_aggregates_are_named() {
        let arn = "arn:aws:kinesis:us-east-1:000000000000:stream/requests";
        let mut kpl = KPL_MAGIC.to_vec();
        kpl.extend_from_slice(b"\x0a\x01k\x1a\x05\x08\x00\x1a\x01{");
        let r = record(&kpl, arn, "s".into(), "11".into());
        let Err(rejected) = &r.parsed else { panic!("an aggregate was accepted") };
        assert_eq!(rejected.error.code(), "invalid_json");
        let message = rejected.error.to_string();
        assert!(
            message.contains("Kinesis Producer Library") && message.contains("AggregationEnabled=false"),
            "{message}"
        );
        let r = record(&KPL_MAGIC[..3], arn, "s".into(), "12".into());
        let Err(rejected) = &r.parsed else { panic!("bad bytes were accepted") };
        assert!(!rejected.error.to_string().contains("Producer"), "{}", rejected.error);
    }

    #[test]
    fn huge_error_records_become_too_large_records() {
        let big = Output::Error(ErrorRecord {
            uuid: "u".into(),
            id: None,
            error: ErrorBody { code: "x", message: "m".repeat(MAX_RECORD_BYTES) },
            source: None,
        });
        let out = encode(big);
        assert!(out.data.len() < 1000);
        let v: serde_json::Value = serde_json::from_slice(&out.data).unwrap();
        assert_eq!(v["error"]["code"], "too_large");
        assert_eq!(out.partition_key, "u");
    }

    /// An endpoint that takes connections and never answers (a stalled
    /// Kinesis): with a deadline, `put_all` returns by it, every record
    /// counted as not written, though the client itself would wait for ever
    /// (this one has no call or read timeout).
    #[tokio::test]
    async fn a_call_that_is_not_answered_is_given_up_at_the_deadline() {
        let writer = writer_to_silent_endpoint();
        let records: Vec<Outgoing> = (0..3).map(|_| rec(100)).collect();
        let t0 = Instant::now();
        let deadline = t0 + Duration::from_millis(500);
        let report = tokio::time::timeout(Duration::from_secs(20), writer.put_all(&records, Some(deadline)))
            .await
            .expect("put_all waited past its deadline");
        let took = t0.elapsed();
        assert!(took >= Duration::from_millis(500) && took < Duration::from_secs(3), "{took:?}");
        assert_eq!((report.failed(), report.first_failed()), (3, Some(0)));
        assert!(report.fatal.is_none(), "{:?}", report.fatal);
    }
}
