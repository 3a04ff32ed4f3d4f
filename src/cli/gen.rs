//! `route-optim gen`: random requests, for benchmarks and for trying the tool.

use anyhow::{ensure, Context};
use std::io::{BufWriter, Write};

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
    /// Points in Gaussian clusters (about √n of them, each with a spread of
    /// 1% of the box) instead of uniform: cities rather than countryside.
    #[arg(long)]
    clustered: bool,
    /// Box the points fall in: LAT_MIN,LON_MIN,LAT_MAX,LON_MAX (degrees).
    /// Default: the contiguous United States.
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true, default_value = "25,-124,49,-67")]
    bbox: Vec<f64>,
    /// Planar points in the square [0, SIDE]² with `"metric": "euclidean"`
    /// instead of lat/lon: the setting of the Beardwood–Halton–Hammersley
    /// estimate 0.7124·√(n·SIDE²) that `bench` compares large tours with.
    #[arg(long, value_name = "SIDE", conflicts_with = "bbox", allow_negative_numbers = true)]
    plane: Option<f64>,
}

/// Smallest `--plane` side: points are rounded to the decimals of a
/// millionth of a side under 1 (`Decimals`), through a scale that must stay
/// far inside f64's range (10^106 here).
const MIN_SIDE: f64 = 1e-100;

/// What one generated request holds, written straight from the vectors (a
/// million points never become a JSON tree).
#[derive(serde::Serialize)]
struct Generated<'a> {
    id: String,
    coordinates: &'a [[f64; 2]],
    #[serde(skip_serializing_if = "Option::is_none")]
    options: Option<Options>,
}

#[derive(serde::Serialize)]
struct Options {
    metric: &'static str,
}

pub fn run(a: GenArgs) -> anyhow::Result<()> {
    ensure!(a.n >= 1, "--n must be at least 1");
    ensure!(a.bbox.len() == 4, "--bbox: expected four numbers LAT_MIN,LON_MIN,LAT_MAX,LON_MAX, got {}", a.bbox.len());
    let [lat0, lon0, lat1, lon1] = match a.plane {
        Some(side) => {
            ensure!(
                (MIN_SIDE..=route_optim::request::MAX_PLANAR).contains(&side),
                "--plane: the side must be in [{MIN_SIDE:e}, {:e}]",
                route_optim::request::MAX_PLANAR
            );
            [0.0, 0.0, side, side]
        }
        None => [a.bbox[0], a.bbox[1], a.bbox[2], a.bbox[3]],
    };
    let geographic = a.plane.is_none();
    ensure!(
        !geographic || (-90.0..=90.0).contains(&lat0) && (-90.0..=90.0).contains(&lat1),
        "--bbox: latitudes must be in [-90, 90]"
    );
    ensure!(
        !geographic || (-180.0..=180.0).contains(&lon0) && (-180.0..=180.0).contains(&lon1),
        "--bbox: longitudes must be in [-180, 180]"
    );
    ensure!(
        lat0 < lat1 && lon0 < lon1,
        "--bbox: expected LAT_MIN,LON_MIN,LAT_MAX,LON_MAX with each minimum below its maximum"
    );
    let mut rng = fastrand::Rng::with_seed(a.seed);
    let mut out = BufWriter::new(super::Stdout::plain());
    let (dlat, dlon) = (lat1 - lat0, lon1 - lon0);
    let round = Decimals::for_side(a.plane);
    for k in 0..a.count {
        let centres: Vec<[f64; 2]> = if a.clustered {
            let c = (a.n as f64).sqrt().ceil() as usize;
            (0..c).map(|_| [lat0 + rng.f64() * dlat, lon0 + rng.f64() * dlon]).collect()
        } else {
            Vec::new()
        };
        let coords: Vec<[f64; 2]> = (0..a.n)
            .map(|_| {
                let (lat, lon) = if a.clustered {
                    let c = centres[rng.usize(..centres.len())];
                    let (g0, g1) = gaussian_pair(&mut rng);
                    ((c[0] + g0 * 0.01 * dlat).clamp(lat0, lat1), (c[1] + g1 * 0.01 * dlon).clamp(lon0, lon1))
                } else {
                    (lat0 + rng.f64() * dlat, lon0 + rng.f64() * dlon)
                };
                [round.within(lat, lat0, lat1), round.within(lon, lon0, lon1)]
            })
            .collect();
        let options = a.plane.map(|_| Options { metric: "euclidean" });
        serde_json::to_writer(&mut out, &Generated { id: k.to_string(), coordinates: &coords, options })
            .context("writing the output")?;
        writeln!(out).context("writing the output")?;
    }
    out.flush().context("writing the output")
}

/// Coordinates rounded to decimals, so that they print as such: six (~0.1 m
/// for lat/lon), as a client would send; on a plane side under 1, enough for
/// a millionth of the side, so that a small square keeps its points apart.
/// Dividing by a power of ten that f64 holds exactly (up to 10^22) gives the
/// f64 nearest the decimal, whose shortest form is that decimal; a scale of
/// 10^6 / side did not (`--plane 0.37` printed 0.24310479999999998).
struct Decimals {
    digits: i32,
    scale: f64,
}

impl Decimals {
    fn for_side(side: Option<f64>) -> Decimals {
        // The first power of ten at or under the side, compared as the text
        // `1e-E` reads (as the side was), not through log10's rounding.
        let tenth_powers =
            side.map_or(Some(0), |s| (0..400).find(|e| format!("1e-{e}").parse().is_ok_and(|p: f64| p <= s)));
        let digits = 6 + tenth_powers.unwrap_or(0);
        Decimals { digits, scale: 10f64.powi(digits) }
    }

    /// `x` rounded, moved in by a step where rounding passed `lo` or `hi`
    /// (which need not be on the grid: a side of 0.123456789).
    fn within(&self, x: f64, lo: f64, hi: f64) -> f64 {
        let k = (x * self.scale).round();
        let v = self.decimal(k);
        if v > hi {
            self.decimal(k - 1.0)
        } else if v < lo {
            self.decimal(k + 1.0)
        } else {
            v
        }
    }

    /// k · 10^-digits, the f64 nearest it.
    fn decimal(&self, k: f64) -> f64 {
        if self.digits <= 22 {
            k / self.scale
        } else {
            // 10^digits is not exact past 10^22: read the decimal as text,
            // which never fails on an integer and an exponent.
            format!("{k}e-{}", self.digits).parse().unwrap_or(k / self.scale)
        }
    }
}

/// Two independent standard normal numbers (Box–Muller).
fn gaussian_pair(rng: &mut fastrand::Rng) -> (f64, f64) {
    let r = (-2.0 * (1.0 - rng.f64()).ln()).sqrt();
    let t = std::f64::consts::TAU * rng.f64();
    (r * t.cos(), r * t.sin())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Six decimals, or one more for each power of ten the side is under 1,
    /// taken from the side as written (no `log10` rounding at 1e-30).
    #[test]
    fn decimals_follow_the_side() {
        for (side, digits) in
            [(None, 6), (Some(1000.0), 6), (Some(1.0), 6), (Some(0.999), 7), (Some(0.1), 7), (Some(1e-30), 36)]
        {
            assert_eq!(Decimals::for_side(side).digits, digits, "{side:?}");
        }
        assert_eq!(Decimals::for_side(Some(MIN_SIDE)).digits, 106);
    }

    /// A value rounded past a bound off the grid steps back inside it, on
    /// the grid: the side 0.123456789 has seven decimals' steps.
    #[test]
    fn rounding_stays_within_the_bounds() {
        let d = Decimals::for_side(Some(0.123456789));
        assert_eq!(d.within(0.12345678, 0.0, 0.123456789), 0.1234567);
        assert_eq!(d.within(0.1234568, 0.0, 0.123456789), 0.1234567);
        assert_eq!(d.within(0.00000004, 0.00000003, 0.1), 0.0000001);
        assert_eq!(d.within(0.05, 0.0, 0.123456789), 0.05);
        // Past 10^22 the decimal is read as text: 1e-30's grid.
        let d = Decimals::for_side(Some(1e-30));
        assert_eq!(d.within(6.57040000001e-31, 0.0, 1e-30), 6.5704e-31);
        assert_eq!(d.within(1e-30, 0.0, 1e-30).to_string(), "0.000000000000000000000000000001");
    }
}
