//! `route-optim`: thin front ends over the library's engine.

mod cli;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// mimalloc instead of glibc's malloc: a batch of small requests allocates
/// and frees many short-lived buffers across rayon threads, where glibc's
/// arenas spent time trimming and re-faulting pages (BENCHMARKS.md).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Run as an AWS Lambda function on the Kinesis event source (needs PRED_STREAM).
    Lambda,
    /// Consume a Kinesis stream in batches (for a GPU EC2 instance) until SIGTERM.
    Worker(cli::worker::WorkerArgs),
    /// Write random requests (uniform or clustered, in a lat/lon box; default the contiguous US).
    Gen(cli::gen::GenArgs),
    /// The GPU adapter found (if any) and the backend `solve` would use.
    Info,
    /// Quality and speed suites.
    #[command(subcommand)]
    Bench(cli::bench::BenchCommand),
}

fn main() -> ExitCode {
    // In the container the binary is /var/runtime/bootstrap, run with no arguments.
    let argv0 = std::env::args_os().next().unwrap_or_default();
    let bootstrap = std::path::Path::new(&argv0).file_name().is_some_and(|f| f == "bootstrap");
    let command = if bootstrap && std::env::args_os().len() == 1 { Command::Lambda } else { Args::parse().command };
    if matches!(command, Command::Solve(_) | Command::Bench(_) | Command::Info) {
        cli::log_to_stderr("warn");
    }
    let result = match command {
        Command::Lambda => cli::lambda::run(),
        Command::Solve(a) => cli::solve::run(a),
        Command::Gen(g) => cli::gen::run(g),
        Command::Worker(w) => cli::worker::run(w),
        Command::Bench(b) => cli::bench::run(b),
        Command::Info => cli::info::run(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of the output has gone (`| head -1`): nothing is wrong.
        Err(_) if cli::stdout_closed() => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("route-optim: {e:#}");
            ExitCode::from(2)
        }
    }
}
