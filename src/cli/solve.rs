//! `route-optim solve FILE|-`: one request, a JSON array of requests, NDJSON
//! (streamed: a chunk of lines at a time, never the whole input), or TSPLIB.

use super::progress::Bar;
use anyhow::{bail, Context};
use rayon::prelude::*;
use route_optim::batch::{self, Record};
use route_optim::output::{millis, Output};
use route_optim::request;
use route_optim::solver::{Budget, Engine, Problem};
use route_optim::svg;
use route_optim::tsplib;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const SVG_ONE: &str = "--format svg draws one request or one TSPLIB file, not a batch";

/// NDJSON lines solved together, at most.
const CHUNK_LINES: usize = 2048;
/// NDJSON bytes read before a chunk is solved, at most (bounds memory).
const CHUNK_BYTES: usize = 16 << 20;

#[derive(clap::Args)]
pub struct SolveArgs {
    /// Input: .json (a request or an array of them), .ndjson/.jsonl, .tsp; `-` is standard input.
    input: String,
    /// Read NDJSON (one request a line) whatever the file is called.
    #[arg(long)]
    ndjson: bool,
    /// Search time per instance, in seconds (decimal, e.g. 0.1); a request's own
    /// options.time_limit_ms wins. Default: stop on stagnation, with a cap that grows with n.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    time_limit: Option<Duration>,
    /// Seed for requests that give none.
    #[arg(long)]
    seed: Option<u64>,
    /// Exact number of improvement rounds (kicks): with a seed, the same tour every run.
    #[arg(long, value_name = "N")]
    iterations: Option<u64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
    /// Backend: cpu, gpu or scalar; default from ROUTE_OPTIM_BACKEND, else automatic
    /// (the GPU for batches of small round trips when an adapter exists).
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
    Duration::try_from_secs_f64(v).map_err(|_| format!("{s:?} is not a non-negative number of seconds"))
}

pub fn run(args: SolveArgs) -> anyhow::Result<()> {
    let engine = super::engine(args.backend.as_deref())?;
    let bar = Bar::new();
    // Ctrl-C ends the searches and writes the best tours found so far; no
    // further input is solved. A second Ctrl-C quits at once.
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&cancel);
    ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("route-optim: interrupted; writing the best tours found so far (Ctrl-C again to quit)");
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
    let ext = Path::new(&args.input).extension().and_then(|e| e.to_str()).unwrap_or("");
    let input: Box<dyn Read> = if stdin {
        Box::new(io::stdin().lock())
    } else {
        Box::new(File::open(&args.input).with_context(|| format!("cannot read {name}"))?)
    };
    let out = &mut BufWriter::new(io::stdout().lock());
    let result = match ext {
        "tsp" => solve_tsplib(&engine, &budget, input, &name, args.format, out),
        "ndjson" | "jsonl" if args.format == Format::Svg => bail!(SVG_ONE),
        _ if args.ndjson && args.format == Format::Svg => bail!(SVG_ONE),
        "ndjson" | "jsonl" => {
            solve_ndjson(&engine, &budget, NdjsonLines::new(input, &name, stdin), args.format, out, &bar)
        }
        _ if args.ndjson => {
            solve_ndjson(&engine, &budget, NdjsonLines::new(input, &name, stdin), args.format, out, &bar)
        }
        _ => solve_document(&engine, &budget, input, &name, args.format, out),
    };
    bar.finish();
    result?;
    out.flush().context("writing the output")
}

fn record(bytes: &[u8]) -> Record {
    Record { parsed: request::parse(bytes), uuid: uuid::Uuid::new_v4().to_string(), source: None }
}

/// One output as compact JSON text.
fn render(output: &Output, format: Format) -> String {
    match format {
        Format::Geojson => geojson(output).to_string(),
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
fn geojson(output: &Output) -> Value {
    match output {
        Output::Prediction(p) => p.to_geojson(),
        e => serde_json::to_value(e).expect("outputs serialize"),
    }
}

/// A whole JSON document: one request, or an array of them.
fn solve_document(
    engine: &Engine,
    budget: &Budget,
    mut input: Box<dyn Read>,
    name: &str,
    format: Format,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut bytes = Vec::new();
    input.read_to_end(&mut bytes).with_context(|| format!("cannot read {name}"))?;
    let bytes = request::strip_bom(&bytes);
    let is_array = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    if format == Format::Svg {
        if is_array {
            bail!(SVG_ONE);
        }
        let rec = record(bytes);
        let geographic = rec.parsed.as_ref().map_or(true, |r| r.problem.metric.is_geographic());
        return match batch::answer(engine, budget, vec![rec]).remove(0) {
            Output::Prediction(p) => {
                let stops = p.stops();
                let title = format!("{stops} stops, {:.3} km", p.distance_km);
                // Geographic stops are [lat, lon]; euclidean ones are x, y.
                let coords = &p.coordinates[..stops];
                let xy = if geographic { svg::project_geographic(coords) } else { coords.to_vec() };
                let closed = p.coordinates.len() > stops;
                write!(out, "{}", svg::tour(&xy, closed, &title)).context("writing the output")
            }
            // An error record stays JSON, so the reason is readable.
            e => writeln!(out, "{}", render(&e, Format::Json)).context("writing the output"),
        };
    }
    let outputs = if is_array {
        let items: Vec<&RawValue> =
            serde_json::from_slice(bytes).with_context(|| format!("{name} is not a JSON array of requests"))?;
        let records = items.into_par_iter().map(|raw| record(raw.get().as_bytes())).collect();
        batch::answer(engine, budget, records)
    } else {
        batch::answer(engine, budget, vec![record(bytes)])
    };
    // JSON is written straight from the outputs: a million-stop prediction
    // never becomes a JSON tree. GeoJSON is built as one (see `to_geojson`).
    let written = match (format, is_array) {
        (Format::Json, true) => serde_json::to_writer_pretty(&mut *out, &outputs),
        (Format::Json, false) => serde_json::to_writer_pretty(&mut *out, &outputs[0]),
        (_, true) => serde_json::to_writer_pretty(&mut *out, &outputs.iter().map(geojson).collect::<Vec<_>>()),
        (_, false) => serde_json::to_writer_pretty(&mut *out, &geojson(&outputs[0])),
    };
    written.context("writing the output")?;
    writeln!(out).context("writing the output")
}

/// NDJSON: a request a line in, an output a line out, in order; blank lines
/// are skipped. Lines are solved a chunk at a time, in parallel; while the
/// pool solves one chunk, this thread writes the chunk before and reads the
/// next, so neither core waits on input or output. From standard input a
/// chunk is what has arrived, and what is solved is written before waiting
/// for more: a slow producer gets each answer as soon as it is solved, not
/// once a chunk has filled. After Ctrl-C nothing more is read, and every
/// line read is still answered, with the best tour found so far.
fn solve_ndjson(
    engine: &Engine,
    budget: &Budget,
    mut input: NdjsonLines,
    format: Format,
    out: &mut impl Write,
    bar: &Bar,
) -> anyhow::Result<()> {
    let interrupted = || budget.cancel.as_ref().is_some_and(|c| c.load(Ordering::Relaxed));
    let (mut lines, mut eof) = input.chunk()?;
    let (mut written, mut done) = (Vec::<String>::new(), 0u64);
    while !lines.is_empty() {
        let last = eof || interrupted();
        let (text, next) = std::thread::scope(|s| {
            let solving = s.spawn(|| {
                let records: Vec<Record> = lines.par_iter().map(|l| record(l)).collect();
                let outputs = batch::answer(engine, budget, records);
                outputs.par_iter().map(|o| render(o, format)).collect::<Vec<String>>()
            });
            let next = write_lines(out, &written).and_then(|()| {
                bar.records(done);
                if last || !input.ready() {
                    Ok((Vec::new(), last))
                } else {
                    input.chunk()
                }
            });
            (solving.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)), next)
        });
        done += lines.len() as u64;
        written = text;
        (lines, eof) = next?;
        if lines.is_empty() && !eof && !interrupted() {
            // Nothing came while the pool solved: hand out what is solved
            // before waiting for more.
            write_lines(out, &written)?;
            written.clear();
            bar.records(done);
            (lines, eof) = input.chunk()?;
        }
    }
    write_lines(out, &written)?;
    bar.records(done);
    Ok(())
}

/// The NDJSON input, read a chunk at a time.
struct NdjsonLines<'a> {
    reader: BufReader<Box<dyn Read>>,
    name: &'a str,
    line_no: usize,
    /// Standard input: a read may wait on the producer, so a chunk stops
    /// where the buffered input does.
    stream: bool,
}

impl NdjsonLines<'_> {
    fn new(input: Box<dyn Read>, name: &str, stream: bool) -> NdjsonLines<'_> {
        NdjsonLines { reader: BufReader::with_capacity(1 << 20, input), name, line_no: 0, stream }
    }

    /// Whether the next chunk can be read without waiting on a producer.
    fn ready(&self) -> bool {
        !self.stream || !self.reader.buffer().is_empty()
    }

    /// The next chunk of non-blank lines (at most [`CHUNK_LINES`], or
    /// [`CHUNK_BYTES`] in all; from a stream, what is buffered once a line
    /// has come), and whether the input has ended.
    fn chunk(&mut self) -> anyhow::Result<(Vec<Vec<u8>>, bool)> {
        let (mut lines, mut bytes) = (Vec::new(), 0usize);
        while lines.len() < CHUNK_LINES && bytes < CHUNK_BYTES && (lines.is_empty() || self.ready()) {
            let mut line = Vec::new();
            let n = self
                .reader
                .read_until(b'\n', &mut line)
                .with_context(|| format!("cannot read {} after line {}", self.name, self.line_no))?;
            if n == 0 {
                return Ok((lines, true));
            }
            self.line_no += 1;
            if !line.iter().all(u8::is_ascii_whitespace) {
                bytes += line.len();
                lines.push(line);
            }
        }
        Ok((lines, false))
    }
}

/// Writes a chunk's outputs and flushes them, so that a reader of the
/// stream sees each chunk as soon as it is solved.
fn write_lines(out: &mut impl Write, text: &[String]) -> anyhow::Result<()> {
    for t in text {
        writeln!(out, "{t}").context("writing the output")?;
    }
    out.flush().context("writing the output")
}

fn solve_tsplib(
    engine: &Engine,
    budget: &Budget,
    mut input: Box<dyn Read>,
    name: &str,
    format: Format,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    if format == Format::Geojson {
        bail!("--format geojson needs [lat, lon] requests; TSPLIB files are planar or their own GEO format");
    }
    let mut text = String::new();
    input.read_to_string(&mut text).with_context(|| format!("cannot read {name}"))?;
    let inst = tsplib::parse(&text).with_context(|| format!("{name} is not a TSPLIB file we can read"))?;
    let problem = Problem::round_trip(inst.points, inst.metric);
    let sol = engine.solve(&problem, budget);
    if format == Format::Svg {
        let xy: Vec<[f64; 2]> = sol.order.iter().map(|&i| problem.points[i]).collect();
        let title = format!("{}: {} nodes, length {}", inst.name, sol.order.len(), sol.length.round());
        return write!(out, "{}", svg::tour(&xy, true, &title)).context("writing the output");
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
