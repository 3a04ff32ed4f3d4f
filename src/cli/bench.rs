//! `route-optim bench tsplib DIR`: quality and speed against known optima.

use anyhow::Context;
use route_optim::solver::{Budget, Problem};
use route_optim::tsplib;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(clap::Subcommand)]
pub enum BenchCommand {
    /// Solve every DIR/*.tsp listed in DIR/solutions (`name : optimum`), smallest first.
    Tsplib(TsplibArgs),
}

#[derive(clap::Args)]
pub struct TsplibArgs {
    dir: PathBuf,
    /// Search time per instance, seconds.
    #[arg(long, value_name = "SECONDS", value_parser = super::solve::parse_seconds)]
    time_limit: Duration,
    /// Only instances with at most this many nodes.
    #[arg(long)]
    max_n: Option<usize>,
    /// Only these instances (comma separated names).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    #[arg(long)]
    seed: Option<u64>,
    /// CSV instead of an aligned table.
    #[arg(long)]
    csv: bool,
    #[arg(long)]
    backend: Option<String>,
}

pub fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Tsplib(a) => tsplib_suite(a),
    }
}

fn tsplib_suite(a: TsplibArgs) -> anyhow::Result<()> {
    let engine = super::engine(a.backend.as_deref())?;
    let sol_path = a.dir.join("solutions");
    let text = std::fs::read_to_string(&sol_path).with_context(|| format!("cannot read {}", sol_path.display()))?;
    let optima: HashMap<String, f64> = text
        .lines()
        .filter_map(|l| l.split_once(':'))
        .filter_map(|(k, v)| Some((k.trim().to_string(), v.trim().parse().ok()?)))
        .collect();
    let mut instances = Vec::new();
    for (name, opt) in &optima {
        if !a.only.is_empty() && !a.only.contains(name) {
            continue;
        }
        let path = a.dir.join(format!("{name}.tsp"));
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        let inst = tsplib::parse(&text).with_context(|| format!("{}", path.display()))?;
        if a.max_n.is_none_or(|m| inst.points.len() <= m) {
            instances.push((name.clone(), *opt, inst));
        }
    }
    instances.sort_by_key(|(name, _, i)| (i.points.len(), name.clone()));
    let budget = Budget { time_limit: Some(a.time_limit), seed: a.seed, ..Budget::default() };
    if a.csv {
        println!("instance,n,optimum,length,gap_pct,wall_s");
    } else {
        println!("{:<10} {:>6} {:>11} {:>11} {:>8} {:>7}", "instance", "n", "optimum", "length", "gap %", "wall s");
    }
    let mut gaps = Vec::new();
    for (name, opt, inst) in instances {
        let n = inst.points.len();
        let t = Instant::now();
        let sol = engine.solve(&Problem::round_trip(inst.points, inst.metric), &budget);
        let wall = t.elapsed().as_secs_f64();
        let gap = 100.0 * (sol.length - opt) / opt;
        gaps.push(gap);
        if a.csv {
            println!("{name},{n},{opt},{},{gap:.4},{wall:.3}", sol.length);
        } else {
            println!("{name:<10} {n:>6} {opt:>11} {:>11} {gap:>8.3} {wall:>7.2}", sol.length);
        }
    }
    if !gaps.is_empty() && !a.csv {
        let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
        println!("mean gap over {} instances: {mean:.3}% ({})", gaps.len(), engine.backend().name());
    }
    Ok(())
}
