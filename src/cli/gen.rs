//! `route-optim gen`: random requests, for benchmarks and for trying the tool.

use std::io::{self, BufWriter, Write};

#[derive(clap::Args)]
pub struct GenArgs {
    /// Points per request.
    #[arg(long)]
    n: usize,
    /// Requests to write: 1 gives one JSON document, more give NDJSON lines.
    #[arg(long, default_value_t = 1)]
    count: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// Uniform in the contiguous United States' bounding box.
const LAT: (f64, f64) = (25.0, 49.0);
const LON: (f64, f64) = (-124.0, -67.0);

pub fn run(a: GenArgs) -> anyhow::Result<()> {
    anyhow::ensure!(a.n >= 1, "--n must be at least 1");
    let mut rng = fastrand::Rng::with_seed(a.seed);
    let mut out = BufWriter::new(io::stdout().lock());
    for k in 0..a.count {
        let coords: Vec<[f64; 2]> = (0..a.n)
            .map(|_| {
                let lat = LAT.0 + rng.f64() * (LAT.1 - LAT.0);
                let lon = LON.0 + rng.f64() * (LON.1 - LON.0);
                // Six decimals (~0.1 m), as a client would send.
                [(lat * 1e6).round() / 1e6, (lon * 1e6).round() / 1e6]
            })
            .collect();
        let req = serde_json::json!({"id": k.to_string(), "coordinates": coords});
        serde_json::to_writer(&mut out, &req)?;
        writeln!(out)?;
    }
    out.flush()?;
    Ok(())
}
