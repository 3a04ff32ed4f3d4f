//! `route-optim`: thin front ends over the library's engine.

mod cli;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "route-optim", version, about = "Shortest round trips and paths through geographic points")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Solve a request, a JSON array of requests, NDJSON, or a TSPLIB .tsp file.
    Solve(cli::solve::SolveArgs),
    /// Write random requests (uniform over the contiguous US).
    Gen(cli::gen::GenArgs),
    /// Quality and speed suites.
    #[command(subcommand)]
    Bench(cli::bench::BenchCommand),
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match args.command {
        Command::Solve(a) => cli::solve::run(a),
        Command::Gen(g) => cli::gen::run(g),
        Command::Bench(b) => cli::bench::run(b),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("route-optim: {e:#}");
            ExitCode::from(2)
        }
    }
}
