//! `route-optim solve FILE|-`: one request, a JSON array of requests, NDJSON
//! (streamed: a chunk of lines at a time, never the whole input), or TSPLIB.

use super::progress::Bar;
use super::Stdout;
use anyhow::{bail, Context};
use rayon::prelude::*;
use route_optim::batch::{self, Record};
use route_optim::metric::{self, Metric, Tsplib};
use route_optim::output::{millis, ErrorBody, ErrorRecord, GeoJson, Output};
use route_optim::request::{self, Origin, Rejected, RequestError};
use route_optim::solver::{Budget, Engine, Problem, GPU_MIN_BATCH};
use route_optim::svg;
use route_optim::tsplib;
use serde::Serialize;
use serde_json::json;
use serde_json::value::RawValue;
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::os::fd::AsFd;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::sync::Arc;
use std::time::Duration;

const SVG_ONE: &str = "--format svg draws one request or one TSPLIB file, not a batch";

/// NDJSON lines solved together, at most: the fewest an automatic engine
/// sends to a GPU, so that a long file of small round trips reaches it (at
/// 2,048 lines none did).
const CHUNK_LINES: usize = GPU_MIN_BATCH;
/// NDJSON bytes read before a chunk is solved, at most (bounds memory): room
/// for [`CHUNK_LINES`] requests of up to 256 stops (`gen` writes about 6 KB
/// for one), the most the GPU takes.
const CHUNK_BYTES: usize = 32 << 20;
/// Longest NDJSON line (bytes, the newline not counted): room for a request
/// at the 2,000,000-point limit at 134 bytes a point, names included. A
/// longer line is skipped as it is read, never held whole, and answered
/// with a `too_large` error record.
pub const MAX_LINE_BYTES: usize = 256 << 20;
/// How often a wait for input looks for Ctrl-C.
const POLL: Duration = Duration::from_millis(50);

#[derive(clap::Args)]
pub struct SolveArgs {
    /// Input: .json (a request or an array of them), .ndjson/.jsonl, .tsp; `-` is standard input.
    input: String,
    /// Read NDJSON (one request a line) whatever the file is called.
    #[arg(long)]
    ndjson: bool,
    /// Search time per instance, in seconds (decimal, e.g. 0.1); a request's own
    /// options.time_limit_ms wins. Default: stop on stagnation, with a cap that grows with n.
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true, value_parser = parse_seconds)]
    time_limit: Option<Duration>,
    /// Seed for requests that give none.
    #[arg(long)]
    seed: Option<u64>,
    /// Exact number of improvement rounds (kicks): with a seed, the same tour every run.
    /// A request's `time_limit_ms` is then ignored.
    #[arg(long, value_name = "N", conflicts_with = "time_limit")]
    iterations: Option<u64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
    /// Backend: cpu, gpu or scalar; default from ROUTE_OPTIM_BACKEND, else automatic
    /// (a real GPU, not a software driver, for batches of at least 4,096 small
    /// round trips and round trips of 100,000 points or more; else the CPU).
    #[arg(long)]
    backend: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Json,
    /// GeoJSON FeatureCollection per prediction ([lon, lat]).
    Geojson,
    /// A picture of the tour (one request or one TSPLIB file).
    Svg,
}

pub fn parse_seconds(s: &str) -> Result<Duration, String> {
    let v: f64 = s.parse().map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!("{s:?} is not a non-negative number of seconds"));
    }
    // Past what a Duration holds (about 5.8e11 years) is no limit at all.
    Ok(Duration::try_from_secs_f64(v).unwrap_or(Duration::MAX))
}

pub fn run(args: SolveArgs) -> anyhow::Result<()> {
    let engine = super::engine(args.backend.as_deref())?;
    let bar = Bar::new();
    // Ctrl-C ends the searches and writes the best tours found so far; no
    // further input is solved. A second Ctrl-C quits at once.
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&cancel);
    let shown = Arc::clone(&bar);
    ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        shown.suspend(|| {
            eprintln!("route-optim: interrupted; writing the best tours found so far (Ctrl-C again to quit)")
        });
    })
    .context("installing the Ctrl-C handler")?;
    let budget = Budget {
        time_limit: args.time_limit,
        kicks: args.iterations,
        seed: args.seed,
        progress: Some(bar.solve_callback()),
        cancel: Some(cancel),
        ..Budget::default()
    };
    let stdin = args.input == "-";
    let name = if stdin { "standard input".to_string() } else { args.input.clone() };
    // `B52.TSP` is a TSPLIB file as much as `b52.tsp` is.
    let ext = Path::new(&args.input).extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    // Standard input, a FIFO or a device: a read may wait on a producer. A
    // file redirected to standard input (`< f.ndjson`) is read as a file.
    let (input, stream): (Box<dyn Read + Send>, bool) = if stdin {
        let redirected = io::stdin().as_fd().try_clone_to_owned().map(File::from).and_then(|f| f.metadata());
        (Box::new(io::stdin()), !redirected.is_ok_and(|m| m.is_file()))
    } else {
        let file = File::open(&args.input).with_context(|| format!("cannot read {name}"))?;
        let regular = file.metadata().is_ok_and(|m| m.is_file());
        (Box::new(file), !regular)
    };
    if args.ndjson && ext == "tsp" {
        bail!("--ndjson reads a request a line, and {name} is a TSPLIB file: leave --ndjson out");
    }
    let ndjson = args.ndjson || matches!(ext.as_str(), "ndjson" | "jsonl");
    if args.format == Format::Svg && ndjson {
        bail!(SVG_ONE);
    }
    let out = &mut BufWriter::new(Stdout::with_bar(&bar));
    let result = match ext.as_str() {
        "tsp" => {
            read_all(input, &name).and_then(|bytes| solve_tsplib(&engine, &budget, &bytes, &name, args.format, out))
        }
        _ if ndjson => {
            let lines = Incoming::spawn(input, name.clone(), stream, budget.cancel.clone());
            solve_ndjson(&engine, &budget, lines, args.format, out, &bar)
        }
        _ => solve_document(&engine, &budget, input, &name, args.format, out),
    };
    // The output goes out before the bar is cleared: a write hides the bar
    // while it lasts, and nothing can draw it once cleared.
    let flushed = result.and_then(|()| out.flush().context("writing the output"));
    bar.finish();
    flushed
}

/// A record from one request's bytes. GeoJSON is `[lon, lat]`, so a planar
/// (euclidean) request cannot be written as GeoJSON: it gets an error
/// record naming the option instead of a map with x and y as lon and lat.
fn record(bytes: &[u8], at: Origin, format: Format) -> Record {
    let parsed = request::parse_at(bytes, at).and_then(|r| {
        let metric = r.problem.metric;
        if format == Format::Geojson && !metric.is_geographic() {
            let reason = format!(
                "{} points are planar [x, y]; --format geojson writes [lat, lon] points as [lon, lat]",
                metric.name()
            );
            let error = RequestError::Invalid { field: "options.metric".into(), reason };
            return Err(Rejected { id: r.id, error });
        }
        Ok(r)
    });
    Record { parsed, uuid: uuid::Uuid::new_v4().to_string(), source: None }
}

/// One output as compact JSON text.
fn render(output: &Output, format: Format) -> String {
    match format {
        Format::Geojson => serde_json::to_string(&geojson(output)).expect("outputs serialize"),
        _ => {
            // About 80 bytes a stop (name, index, coordinates, leg), sized up
            // front: regrowing the buffer was a visible cost at 20 stops.
            let stops = match output {
                Output::Prediction(p) => p.order.len(),
                Output::Error(_) => 0,
            };
            let mut text = Vec::with_capacity(256 + 96 * stops);
            serde_json::to_writer(&mut text, output).expect("outputs serialize");
            String::from_utf8(text).expect("serde_json writes UTF-8")
        }
    }
}

/// A prediction as GeoJSON; an error record as itself.
#[derive(Serialize)]
#[serde(untagged)]
enum Geo<'a> {
    Map(GeoJson<'a>),
    Error(&'a Output),
}

fn geojson(output: &Output) -> Geo<'_> {
    match output {
        Output::Prediction(p) => Geo::Map(p.to_geojson()),
        e => Geo::Error(e),
    }
}

/// A whole JSON document: one request, or an array of them.
fn solve_document(
    engine: &Engine,
    budget: &Budget,
    input: Box<dyn Read + Send>,
    name: &str,
    format: Format,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let bytes = read_all(input, name)?;
    let bytes = request::strip_bom(&bytes);
    if is_tsplib(bytes) {
        return solve_tsplib(engine, budget, bytes, name, format, out);
    }
    let is_array = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    if format == Format::Svg {
        if is_array {
            bail!(SVG_ONE);
        }
        let rec = record(bytes, Origin::START, format);
        let geographic = rec.parsed.as_ref().map_or(true, |r| r.problem.metric.is_geographic());
        return match batch::answer(engine, budget, vec![rec]).remove(0) {
            Output::Prediction(p) => {
                let stops = p.stops();
                // A euclidean distance is in the coordinates' own unit.
                let unit = if geographic { " km" } else { "" };
                let plural = if stops == 1 { "" } else { "s" };
                let title = format!("{stops} stop{plural}, {:.3}{unit}", p.distance_km);
                // Geographic stops are [lat, lon]; euclidean ones are x, y.
                let coords = &p.coordinates[..stops];
                let xy = if geographic { svg::project_geographic(coords) } else { coords.to_vec() };
                let close_to = match p.coordinates.len() > stops {
                    false => None,
                    true if geographic => svg::closing_point(coords, &xy),
                    true => xy.first().copied(),
                };
                write!(out, "{}", svg::tour(&xy, close_to, &title)).context("writing the output")
            }
            // A picture has no place for an error record: its code and
            // message go to stderr, and nothing to the `.svg` file.
            Output::Error(e) => bail!("{name}: no picture: {}: {}", e.error.code, e.error.message),
        };
    }
    let outputs = if is_array {
        let items = array_items(bytes).with_context(|| format!("{name} is not a JSON array of requests"))?;
        // Each request's errors say where in the file: its line, column and
        // byte offset, found in one pass over the text before it.
        let mut at = Origin::START;
        let origins: Vec<Origin> = items
            .iter()
            .map(|&(start, _)| {
                at = at.after(bytes.get(at.byte..start).unwrap_or_default());
                at
            })
            .collect();
        let records = items.into_par_iter().zip(origins).map(|((_, item), at)| record(item, at, format)).collect();
        batch::answer(engine, budget, records)
    } else {
        batch::answer(engine, budget, vec![record(bytes, Origin::START, format)])
    };
    // Written straight from the outputs: a million-stop prediction never
    // becomes a JSON tree.
    let written = match (format, is_array) {
        (Format::Json, true) => serde_json::to_writer_pretty(&mut *out, &outputs),
        (Format::Json, false) => serde_json::to_writer_pretty(&mut *out, &outputs[0]),
        (_, true) => serde_json::to_writer_pretty(&mut *out, &outputs.iter().map(geojson).collect::<Vec<_>>()),
        (_, false) => serde_json::to_writer_pretty(&mut *out, &geojson(&outputs[0])),
    };
    written.context("writing the output")?;
    writeln!(out).context("writing the output")
}

/// The items of a JSON array, in order, each with its byte offset in
/// `bytes`. serde_json checks the UTF-8 of every string as it splits, so a
/// stray byte in one request's name would fail the whole file: the split
/// reads a copy with each such byte as `?` (the offsets unchanged), and the
/// items are cut from `bytes`, so that request alone is refused, naming its
/// field. So is a request with a `NaN` or `Infinity` in it, as Python's
/// `json.dumps` writes them (`request::mend_non_json_numbers`).
fn array_items(bytes: &[u8]) -> serde_json::Result<Vec<(usize, &[u8])>> {
    let utf8 = request::mend_utf8(bytes);
    let text = utf8.as_deref().unwrap_or(bytes);
    let numbers: Vec<u8>;
    let (items, text): (Vec<&RawValue>, &[u8]) = match serde_json::from_slice(text) {
        Ok(items) => (items, text),
        Err(e) => match request::mend_non_json_numbers(text) {
            Some(mended) => {
                numbers = mended;
                (serde_json::from_slice(&numbers)?, &numbers)
            }
            None => return Err(e),
        },
    };
    Ok(items
        .iter()
        .map(|raw| {
            // The items are slices of `text`, in order.
            let start = (raw.get().as_ptr() as usize).saturating_sub(text.as_ptr() as usize);
            (start, bytes.get(start..start + raw.get().len()).unwrap_or_default())
        })
        .collect())
}

/// NDJSON: a request a line in, an output a line out, in order; blank lines
/// are skipped. Lines are read on their own thread ([`Incoming`]) and solved
/// a chunk at a time, in parallel; while the pool solves one chunk, this
/// thread writes the chunk before and takes the next, so neither core waits
/// on input or output. From a stream a chunk is what has arrived, and what
/// is solved is written before waiting for more: a slow producer gets each
/// answer as soon as it is solved. After Ctrl-C no more lines are taken,
/// and every line taken is still answered, with the best tour found so far.
/// If the input fails, every line before the failure is answered first.
fn solve_ndjson(
    engine: &Engine,
    budget: &Budget,
    mut input: Incoming,
    format: Format,
    out: &mut impl Write,
    bar: &Bar,
) -> anyhow::Result<()> {
    // A file is taken a full chunk at a time; a stream, what has arrived.
    let (first, more) = if input.stream { (Wait::First, Wait::No) } else { (Wait::Full, Wait::Full) };
    let mut lines = Vec::new();
    input.fill(&mut lines, first);
    let (mut written, mut done) = (Vec::<String>::new(), 0u64);
    while !lines.is_empty() {
        let (text, next) = std::thread::scope(|s| {
            let solving = s.spawn(|| answer_lines(engine, budget, &lines, format));
            let next = write_lines(out, &written).map(|()| {
                bar.records(done);
                let mut next = Vec::new();
                input.fill(&mut next, more);
                next
            });
            (solving.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)), next)
        });
        done += lines.len() as u64;
        written = text;
        lines = next?;
        if lines.is_empty() {
            // Nothing came while the pool solved: hand out what is solved
            // before waiting for more.
            write_lines(out, &written)?;
            written.clear();
            bar.records(done);
            input.fill(&mut lines, first);
        } else if input.stream {
            // What came while the last writes went out.
            input.fill(&mut lines, Wait::No);
        }
    }
    write_lines(out, &written)?;
    bar.records(done);
    input.finish()
}

/// One chunk's outputs, rendered, in input order.
fn answer_lines(engine: &Engine, budget: &Budget, lines: &[Line], format: Format) -> Vec<String> {
    let records: Vec<Record> = lines
        .par_iter()
        .filter_map(|l| match l {
            Line::Text { text, at } => {
                // Without its line break, an error at its end is on its line.
                let text = text.strip_suffix(b"\n").unwrap_or(text);
                Some(record(text.strip_suffix(b"\r").unwrap_or(text), *at, format))
            }
            Line::TooLong { .. } => None,
        })
        .collect();
    let mut solved = batch::answer(engine, budget, records).into_iter();
    let outputs: Vec<Output> = lines
        .iter()
        .map(|l| match l {
            Line::Text { .. } => solved.next().unwrap_or_else(|| {
                error_record("internal_error", "solver failed: no output returned for this line".into())
            }),
            Line::TooLong { line_no } => error_record(
                "too_large",
                format!("request: line {line_no} is longer than {MAX_LINE_BYTES} bytes, the limit of an NDJSON line"),
            ),
        })
        .collect();
    outputs.par_iter().map(|o| render(o, format)).collect()
}

/// An error record for a line that never became a request.
fn error_record(code: &'static str, message: String) -> Output {
    Output::Error(ErrorRecord {
        uuid: uuid::Uuid::new_v4().to_string(),
        id: None,
        error: ErrorBody { code, message },
        source: None,
    })
}

/// One non-blank NDJSON line.
enum Line {
    /// A line and where it starts in the input.
    Text { text: Vec<u8>, at: Origin },
    /// Over [`MAX_LINE_BYTES`]: skipped as it was read.
    TooLong { line_no: usize },
}

impl Line {
    fn bytes(&self) -> usize {
        match self {
            Line::Text { text, .. } => text.len(),
            Line::TooLong { .. } => 0,
        }
    }
}

/// What the reading thread sends.
enum Msg {
    /// Lines in input order; from a stream, never held back by a line that
    /// has not fully arrived.
    Lines(Vec<Line>),
    /// Reading failed after the lines sent before this.
    Failed(anyhow::Error),
}

/// How long [`Incoming::fill`] may wait for lines.
#[derive(Clone, Copy)]
enum Wait {
    /// Not at all: what has arrived.
    No,
    /// Until a line comes (then what has arrived), the input ends, or Ctrl-C.
    First,
    /// Until the chunk is full, the input ends, or Ctrl-C.
    Full,
}

/// The NDJSON input: a thread reads it and sends batches of lines over a
/// bounded channel, so that this side can wait for lines and for Ctrl-C at
/// once, and a read error cannot take the lines read before it.
struct Incoming {
    rx: Receiver<Msg>,
    /// Lines received beyond a chunk's limits, first in the next chunk.
    pending: VecDeque<Line>,
    /// Standard input, a FIFO or a device: a read may wait on a producer.
    stream: bool,
    cancel: Option<Arc<AtomicBool>>,
    /// The input has ended (the reading thread is gone).
    ended: bool,
    /// Why reading failed, reported once every line before it is answered.
    failed: Option<anyhow::Error>,
}

impl Incoming {
    fn spawn(input: Box<dyn Read + Send>, name: String, stream: bool, cancel: Option<Arc<AtomicBool>>) -> Incoming {
        // Two batches in flight at most: with the chunk being solved and the
        // one being taken, memory stays a few chunks.
        let (tx, rx) = mpsc::sync_channel(1);
        std::thread::spawn(move || read_lines(input, &name, stream, &tx));
        Incoming { rx, pending: VecDeque::new(), stream, cancel, ended: false, failed: None }
    }

    fn cancelled(&self) -> bool {
        self.cancel.as_ref().is_some_and(|c| c.load(Ordering::Relaxed))
    }

    /// Adds lines to `chunk`, up to [`CHUNK_LINES`] or [`CHUNK_BYTES`],
    /// waiting as `wait` allows. After Ctrl-C it takes nothing more.
    fn fill(&mut self, chunk: &mut Vec<Line>, wait: Wait) {
        let mut bytes: usize = chunk.iter().map(Line::bytes).sum();
        loop {
            if self.cancelled() {
                return;
            }
            while chunk.len() < CHUNK_LINES && bytes < CHUNK_BYTES {
                let Some(line) = self.pending.pop_front() else { break };
                bytes += line.bytes();
                chunk.push(line);
            }
            if chunk.len() >= CHUNK_LINES || bytes >= CHUNK_BYTES || self.ended || self.failed.is_some() {
                return;
            }
            let block = match wait {
                Wait::No => false,
                Wait::First => chunk.is_empty(),
                Wait::Full => true,
            };
            match self.receive(block) {
                Some(lines) => self.pending.extend(lines),
                None => return,
            }
        }
    }

    /// The next batch; `None` when there is none without waiting (unless
    /// `block`), at the end, after a failure, or on Ctrl-C while waiting.
    fn receive(&mut self, block: bool) -> Option<Vec<Line>> {
        let msg = if block {
            loop {
                if self.cancelled() {
                    return None;
                }
                match self.rx.recv_timeout(POLL) {
                    Ok(msg) => break msg,
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => {
                        self.ended = true;
                        return None;
                    }
                }
            }
        } else {
            match self.rx.try_recv() {
                Ok(msg) => msg,
                Err(TryRecvError::Empty) => return None,
                Err(TryRecvError::Disconnected) => {
                    self.ended = true;
                    return None;
                }
            }
        };
        match msg {
            Msg::Lines(lines) => Some(lines),
            Msg::Failed(e) => {
                self.failed = Some(e);
                None
            }
        }
    }

    /// The read error, if reading failed.
    fn finish(self) -> anyhow::Result<()> {
        self.failed.map_or(Ok(()), Err)
    }
}

/// The reading thread: sends the non-blank lines of `input` in batches (at
/// most a chunk each), and a failure as the last message. From a stream, a
/// batch goes out before any read that may wait, so a line that has not
/// fully arrived never holds back the lines before it. A line longer than
/// [`MAX_LINE_BYTES`] is dropped as it is read. Ends when the input does, or
/// when nobody takes batches any more.
fn read_lines(input: Box<dyn Read + Send>, name: &str, stream: bool, tx: &SyncSender<Msg>) {
    let mut reader = BufReader::with_capacity(1 << 20, input);
    let (mut batch, mut bytes) = (Vec::new(), 0usize);
    // The line being read, its number, and whether it is too long (its bytes
    // are dropped) and, then, blank so far.
    let (mut line, mut line_no, mut too_long, mut blank) = (Vec::new(), 0usize, false, true);
    // Bytes before the line being read, after a byte-order mark that starts
    // the input (as `request::Origin` counts).
    let (mut start, mut read, mut bom_checked) = (0usize, 0usize, false);
    loop {
        let full = batch.len() >= CHUNK_LINES || bytes >= CHUNK_BYTES;
        if !batch.is_empty() && (full || stream && reader.buffer().is_empty()) {
            bytes = 0;
            if tx.send(Msg::Lines(std::mem::take(&mut batch))).is_err() {
                return;
            }
        }
        let buf = match reader.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let e = anyhow::Error::new(e).context(format!("cannot read {name} after line {line_no}"));
                if !batch.is_empty() && tx.send(Msg::Lines(batch)).is_err() {
                    return;
                }
                let _ = tx.send(Msg::Failed(e));
                return;
            }
        };
        let at_end = buf.is_empty();
        let (take, complete) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), at_end),
        };
        let part = &buf[..take];
        if !too_long && line.len() + part.len() - usize::from(complete && take > 0) > MAX_LINE_BYTES {
            too_long = true;
            blank = line.iter().all(u8::is_ascii_whitespace);
            line = Vec::new();
        }
        if too_long {
            blank = blank && part.iter().all(u8::is_ascii_whitespace);
        } else {
            append(&mut line, part);
        }
        reader.consume(take);
        read += take;
        if !bom_checked && (line.len() >= 3 || complete) {
            bom_checked = true;
            if line.starts_with(b"\xEF\xBB\xBF") {
                read -= 3;
                line.drain(..3);
            }
        }
        if complete && (take > 0 || !line.is_empty() || too_long) {
            line_no += 1;
            if too_long {
                if !blank {
                    batch.push(Line::TooLong { line_no });
                }
            } else if !line.iter().all(u8::is_ascii_whitespace) {
                bytes += line.len();
                // A line past a megabyte has room for the longest line
                // (`append`): it leaves as a copy of its own size, so that a
                // chunk of such lines holds their bytes, not the limit each
                // (16 lines of 1.1 MB reserved 4 GiB and aborted under
                // `ulimit -v`), and the room is kept for the next one.
                let text = if line.capacity() > 1 << 20 { line.clone() } else { std::mem::take(&mut line) };
                batch.push(Line::Text { text, at: Origin { line: line_no, column: 1, byte: start } });
            }
            line.clear();
            (too_long, blank) = (false, true);
            start = read;
        }
        if at_end {
            if !batch.is_empty() {
                let _ = tx.send(Msg::Lines(batch));
            }
            return;
        }
    }
}

/// Appends to a line. Past the first megabyte the line gets room for the
/// longest line at once: only the pages written are memory, and no
/// doubling leaves a trail of freed copies (a line cut off at the limit
/// then costs the limit, not twice it).
fn append(line: &mut Vec<u8>, part: &[u8]) {
    let need = line.len() + part.len();
    if need > line.capacity() && need > 1 << 20 {
        line.reserve_exact((MAX_LINE_BYTES + 1).max(need) - line.len());
    }
    line.extend_from_slice(part);
}

/// Writes a chunk's outputs and flushes them, so that a reader of the
/// stream sees each chunk as soon as it is solved.
fn write_lines(out: &mut impl Write, text: &[String]) -> anyhow::Result<()> {
    for t in text {
        writeln!(out, "{t}").context("writing the output")?;
    }
    out.flush().context("writing the output")
}

/// Whether a document is TSPLIB: it opens with a keyword line, `NAME :`
/// or another capitals-and-underscores word and a colon, or one of the
/// format's keywords and a space (`NAME berlin52`, which the reader takes
/// too), as no JSON text does. So `solve -` and a TSPLIB file under another
/// name are read as TSPLIB (and refused as an unreadable one if the rest is
/// not); other text (`NaN`, an HTML error page) stays an `invalid_json`
/// record.
fn is_tsplib(bytes: &[u8]) -> bool {
    const KEYWORDS: [&[u8]; 10] = [
        b"NAME",
        b"TYPE",
        b"COMMENT",
        b"DIMENSION",
        b"CAPACITY",
        b"EDGE_WEIGHT_TYPE",
        b"EDGE_WEIGHT_FORMAT",
        b"NODE_COORD_TYPE",
        b"DISPLAY_DATA_TYPE",
        b"NODE_COORD_SECTION",
    ];
    let text = bytes.trim_ascii_start();
    let word = text.iter().take_while(|b| b.is_ascii_uppercase() || **b == b'_').count();
    let rest = &text[word..];
    word > 0
        && (rest.trim_ascii_start().first() == Some(&b':')
            || (KEYWORDS.contains(&&text[..word]) && rest.first().is_none_or(u8::is_ascii_whitespace)))
}

/// The whole input.
fn read_all(mut input: Box<dyn Read + Send>, name: &str) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    input.read_to_end(&mut bytes).with_context(|| format!("cannot read {name}"))?;
    Ok(bytes)
}

/// A TSPLIB file's text, solved as one round trip in its own units.
fn solve_tsplib(
    engine: &Engine,
    budget: &Budget,
    bytes: &[u8],
    name: &str,
    format: Format,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    if format == Format::Geojson {
        bail!("--format geojson needs [lat, lon] requests; TSPLIB files are planar or their own GEO format");
    }
    let inst = tsplib::read(bytes).with_context(|| format!("{name} is not a TSPLIB file we can read"))?;
    let problem = Problem::round_trip(inst.points, inst.metric);
    let sol = engine.solve(&problem, budget);
    if format == Format::Svg {
        let mut xy: Vec<[f64; 2]> = sol.order.iter().map(|&i| problem.points[i]).collect();
        let mut close_to = xy.first().copied();
        // GEO is `[lat, lon]` in TSPLIB's DDD.MM: drawn as a map, like a request.
        if problem.metric == Metric::Tsplib(Tsplib::Geo) {
            let degrees: Vec<[f64; 2]> = xy.iter().map(|p| p.map(metric::tsplib_geo_degrees)).collect();
            xy = svg::project_geographic(&degrees);
            close_to = svg::closing_point(&degrees, &xy);
        }
        let plural = if sol.order.len() == 1 { "" } else { "s" };
        let title = format!("{}: {} node{plural}, length {}", inst.name, sol.order.len(), sol.length.round());
        return write!(out, "{}", svg::tour(&xy, close_to, &title)).context("writing the output");
    }
    let result = json!({
        "name": inst.name,
        "n": sol.order.len(),
        "metric": inst.metric.name(),
        "order": sol.order,
        "length": sol.length.round() as i64,
        "optimal": sol.optimal,
        "solver": {"backend": sol.backend, "ms": millis(sol.elapsed), "kicks": sol.kicks},
    });
    serde_json::to_writer(&mut *out, &result).context("writing the output")?;
    writeln!(out).context("writing the output")
}
