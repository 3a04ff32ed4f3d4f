//! `route-optim bench tsplib DIR`: quality and speed against known optima.
//! `route-optim bench batch`: a batch of random small round trips, end to
//! end through `solve_batch` on the chosen backend, against long CPU runs.

use anyhow::{bail, Context};
use route_optim::metric::Metric;
use route_optim::solver::{Backend, Budget, Engine, Problem};
use route_optim::tsplib;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const WRITING: &str = "writing the output";

#[derive(clap::Subcommand)]
pub enum BenchCommand {
    /// Solve every DIR/*.tsp listed in DIR/solutions (`name : optimum`, or `name : optimum (EDGE_WEIGHT_TYPE)`), smallest first.
    Tsplib(TsplibArgs),
    /// Random round trips solved as one batch: wall time, and the mean gap to
    /// long CPU runs (the best known tours) on the first --reference ones.
    Batch(BatchArgs),
}

#[derive(clap::Args)]
pub struct BatchArgs {
    /// Stops per request.
    #[arg(long, default_value_t = 100)]
    stops: usize,
    /// Requests in the batch.
    #[arg(long, default_value_t = 10_000)]
    count: usize,
    /// Requests whose gap is measured against a long CPU run.
    #[arg(long, default_value_t = 1000)]
    reference: usize,
    /// Kicks per reference run (CPU, LK depth 3).
    #[arg(long, default_value_t = 5000)]
    reference_kicks: u64,
    /// Kick rounds per request (default: the engine's own budget).
    #[arg(long)]
    iterations: Option<u64>,
    /// Points uniform in the unit square (euclidean) instead of lat/lon
    /// uniform over the contiguous US (haversine).
    #[arg(long)]
    plane: bool,
    /// Seed of the random requests (the searches use the engine's own).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Backend: cpu, gpu or scalar, as for `solve` (default: ROUTE_OPTIM_BACKEND, else automatic).
    #[arg(long)]
    backend: Option<String>,
}

#[derive(clap::Args)]
pub struct TsplibArgs {
    /// A folder of `NAME.tsp` files and their optima in `solutions`.
    dir: PathBuf,
    /// Search time per instance, seconds.
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true, value_parser = super::solve::parse_seconds)]
    time_limit: Duration,
    /// Only instances with at most this many nodes.
    #[arg(long)]
    max_n: Option<usize>,
    /// Only these instances (comma separated names).
    #[arg(long, value_delimiter = ',', value_parser = trimmed)]
    only: Vec<String>,
    /// Seed of every search (default: the engine's fixed one).
    #[arg(long)]
    seed: Option<u64>,
    /// CSV instead of an aligned table.
    #[arg(long)]
    csv: bool,
    /// Backend: cpu, gpu or scalar, as for `solve` (default: ROUTE_OPTIM_BACKEND, else automatic).
    #[arg(long)]
    backend: Option<String>,
}

/// An `--only` name without the spaces around it (`--only 'a, b'`).
fn trimmed(name: &str) -> Result<String, String> {
    match name.trim() {
        "" => Err("an empty instance name".into()),
        name => Ok(name.to_string()),
    }
}

pub fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Tsplib(a) => tsplib_suite(a),
        BenchCommand::Batch(a) => batch_suite(a),
    }
}

/// How much longer `length` is than `reference`, in percent: 0 when they
/// are equal, also when both are 0 (one stop, or a one-node instance).
fn gap_pct(length: f64, reference: f64) -> f64 {
    if length == reference {
        0.0
    } else {
        100.0 * (length - reference) / reference
    }
}

fn batch_suite(a: BatchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(a.stops >= 1, "--stops must be at least 1");
    anyhow::ensure!(a.count >= 1, "--count must be at least 1");
    let engine = super::engine(a.backend.as_deref())?;
    let mut rng = fastrand::Rng::with_seed(a.seed);
    let problems: Vec<Problem> = (0..a.count)
        .map(|_| {
            let (metric, pts) = if a.plane {
                (Metric::Euclidean, (0..a.stops).map(|_| [rng.f64(), rng.f64()]).collect())
            } else {
                (
                    Metric::Haversine,
                    (0..a.stops).map(|_| [25.0 + rng.f64() * 24.0, -124.0 + rng.f64() * 57.0]).collect(),
                )
            };
            Problem::round_trip(pts, metric)
        })
        .collect();
    let budget = Budget { kicks: a.iterations, ..Budget::default() };
    let t = Instant::now();
    let solutions = engine.solve_batch(&problems, &budget);
    let wall = t.elapsed().as_secs_f64();
    let backends: std::collections::BTreeSet<&str> = solutions.iter().map(|s| s.backend).collect();
    let out = &mut super::Stdout::plain();
    writeln!(
        out,
        "{} requests x {} stops: {wall:.3} s end to end ({:.0} requests/s) on {backends:?}",
        a.count,
        a.stops,
        a.count as f64 / wall
    )
    .context(WRITING)?;
    let r = a.reference.min(a.count);
    if r > 0 {
        let long = Budget { kicks: Some(a.reference_kicks), ..Budget::default() };
        let best = Engine::new(Backend::Simd).solve_batch(&problems[..r], &long);
        // A reference run may end longer than the batch's: no gap then.
        let gaps: Vec<f64> = solutions.iter().zip(&best).map(|(s, b)| gap_pct(s.length, b.length).max(0.0)).collect();
        let mean = gaps.iter().sum::<f64>() / r as f64;
        let at_best = gaps.iter().filter(|&&g| g < 1e-6).count();
        writeln!(
            out,
            "gap to {} CPU kicks on the first {r}: mean {mean:.4}%, max {:.3}%, at the best known {:.1}%",
            a.reference_kicks,
            gaps.iter().cloned().fold(0.0, f64::max),
            100.0 * at_best as f64 / r as f64
        )
        .context(WRITING)?;
    }
    Ok(())
}

fn tsplib_suite(a: TsplibArgs) -> anyhow::Result<()> {
    let engine = super::engine(a.backend.as_deref())?;
    let sol_path = a.dir.join("solutions");
    let text = std::fs::read_to_string(&sol_path).with_context(|| format!("cannot read {}", sol_path.display()))?;
    let optima = tsplib::Solutions::parse(&text).with_context(|| sol_path.display().to_string())?;
    // A name asked for but not listed would otherwise leave just the header.
    if let Some(name) = a.only.iter().find(|name| !optima.contains(name)) {
        bail!("--only {name}: no instance {name} in {}", sol_path.display());
    }
    let mut instances = Vec::new();
    for name in optima.names() {
        if !a.only.is_empty() && !a.only.contains(name) {
            continue;
        }
        // A listed instance that cannot be read is an error, not a row
        // silently missing from the table.
        let path = a.dir.join(format!("{name}.tsp"));
        let bytes = std::fs::read(&path).with_context(|| {
            format!("instance {name} (listed in {}): cannot read {}", sol_path.display(), path.display())
        })?;
        let inst = tsplib::read(&bytes).with_context(|| format!("instance {name}: {}", path.display()))?;
        // Instances over `--max-n` are left out before their optimum is
        // looked up: one listed for other metrics only is no error then.
        if a.max_n.is_some_and(|m| inst.points.len() > m) {
            continue;
        }
        let Some(opt) = optima.optimum(name, inst.metric) else {
            bail!(
                "instance {name} is {}: {} lists its optimum for other metrics only",
                inst.metric.name(),
                sol_path.display()
            );
        };
        instances.push((name.clone(), opt, inst));
    }
    if instances.is_empty() {
        let only = if a.only.is_empty() { String::new() } else { format!(" of --only {}", a.only.join(",")) };
        let max_n = a.max_n.map_or(String::new(), |m| format!(" with at most {m} nodes"));
        bail!("no instance to solve: {} lists none{only}{max_n}", sol_path.display());
    }
    instances.sort_by_key(|(name, _, i)| (i.points.len(), name.clone()));
    let budget = Budget { time_limit: Some(a.time_limit), seed: a.seed, ..Budget::default() };
    let out = &mut super::Stdout::plain();
    if a.csv {
        writeln!(out, "instance,n,optimum,length,gap_pct,wall_s")
    } else {
        writeln!(out, "{:<10} {:>6} {:>11} {:>11} {:>8} {:>7}", "instance", "n", "optimum", "length", "gap %", "wall s")
    }
    .context(WRITING)?;
    let mut gaps = Vec::new();
    for (name, opt, inst) in instances {
        let n = inst.points.len();
        let t = Instant::now();
        let sol = engine.solve(&Problem::round_trip(inst.points, inst.metric), &budget);
        let wall = t.elapsed().as_secs_f64();
        let gap = gap_pct(sol.length, opt);
        gaps.push(gap);
        if a.csv {
            writeln!(out, "{name},{n},{opt},{},{gap:.4},{wall:.3}", sol.length)
        } else {
            writeln!(out, "{name:<10} {n:>6} {opt:>11} {:>11} {gap:>8.3} {wall:>7.2}", sol.length)
        }
        .context(WRITING)?;
    }
    if !a.csv {
        let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
        writeln!(out, "mean gap over {} instances: {mean:.3}% ({})", gaps.len(), engine.backend().name())
            .context(WRITING)?;
    }
    Ok(())
}
