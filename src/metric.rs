//! Distance metrics: the scalar f64 reference for every metric the engine knows.
//!
//! Points are `[f64; 2]`: `[lat, lon]` in degrees for the geographic metrics,
//! `[x, y]` for the planar ones, and the file's raw coordinates for TSPLIB
//! (GEO files store `DDD.MM` degrees-and-minutes). Every fast path (SIMD
//! matrix, on-the-fly distances) is tested against [`Metric::dist`].

use geographiclib_rs::{Geodesic, InverseGeodesic};
use std::f64::consts::PI;
use std::sync::OnceLock;

/// Mean Earth radius (IUGG), the sphere of the haversine metric, in km.
pub const EARTH_RADIUS_KM: f64 = 6371.0088;

/// How distances between two points are measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Great circle on a sphere of radius [`EARTH_RADIUS_KM`], km.
    Haversine,
    /// WGS-84 ellipsoid (Karney), km: what geopy's `distance.distance` gives.
    Geodesic,
    /// Planar straight line, in the coordinates' own unit.
    Euclidean,
    /// TSPLIB metrics with TSPLIB's integer rounding.
    Tsplib(Tsplib),
}

/// The TSPLIB `EDGE_WEIGHT_TYPE`s we read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tsplib {
    Euc2d,
    Ceil2d,
    Att,
    Geo,
}

/// How a metric's points embed in 3-D space so that straight-line distance
/// there orders neighbours (nearly) as the metric does: used for spatial
/// indexing and the SIMD kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Embedding {
    /// Unit vectors on the sphere; the metric is a monotone function of the chord.
    Sphere,
    /// `[x, y, 0]`.
    Plane,
}

impl Metric {
    /// The name used on the wire (`options.metric`) and in TSPLIB headers.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Haversine => "haversine",
            Metric::Geodesic => "geodesic",
            Metric::Euclidean => "euclidean",
            Metric::Tsplib(Tsplib::Euc2d) => "EUC_2D",
            Metric::Tsplib(Tsplib::Ceil2d) => "CEIL_2D",
            Metric::Tsplib(Tsplib::Att) => "ATT",
            Metric::Tsplib(Tsplib::Geo) => "GEO",
        }
    }

    /// Whether the points are `[lat, lon]` degrees (so GeoJSON makes sense).
    pub fn is_geographic(self) -> bool {
        matches!(self, Metric::Haversine | Metric::Geodesic)
    }

    /// Whether some shortest tour visits each point's copies one after
    /// another, as one does where copies are 0 apart and the triangle
    /// inequality holds. TSPLIB's EUC_2D rounds to the nearest integer,
    /// which breaks the inequality: on (0,0) (1,1) (2,2) (1,1) the tour
    /// through both copies together is 5 long, the one between them 4. GEO
    /// puts copies 1 apart. CEIL_2D and ATT round up, which keeps it.
    pub fn copies_merge_exactly(self) -> bool {
        !matches!(self, Metric::Tsplib(Tsplib::Euc2d | Tsplib::Geo))
    }

    /// A point's place, equal for every spelling of one place: -0.0 as 0.0,
    /// and on the geographic metrics a pole at any longitude as longitude 0
    /// and longitude -180 as 180 (one meridian). Their distances come out
    /// near 1e-13 km, not 0, and would otherwise count as separate stops.
    pub fn place(self, p: [f64; 2]) -> [u64; 2] {
        let (lat, mut lon) = (p[0] + 0.0, p[1] + 0.0);
        if self.is_geographic() {
            if lat.abs() == 90.0 {
                lon = 0.0;
            } else if lon == -180.0 {
                lon = 180.0;
            }
        }
        [lat.to_bits(), lon.to_bits()]
    }

    pub fn embedding(self) -> Embedding {
        match self {
            Metric::Haversine | Metric::Geodesic | Metric::Tsplib(Tsplib::Geo) => Embedding::Sphere,
            _ => Embedding::Plane,
        }
    }

    /// The reference distance between two points, in f64.
    pub fn dist(self, a: [f64; 2], b: [f64; 2]) -> f64 {
        match self {
            Metric::Haversine => haversine_km(a, b),
            Metric::Geodesic => geodesic_km(a, b),
            // `hypot` only where the squares underflow (differences below
            // about 1e-145): glibc's costs ~20 ns, and its overflow guard is
            // not needed for validated coordinates (|x| ≤ 1e9).
            Metric::Euclidean => {
                let (dx, dy) = (a[0] - b[0], a[1] - b[1]);
                let squares = dx * dx + dy * dy;
                if squares >= 1e-290 {
                    squares.sqrt()
                } else {
                    dx.hypot(dy)
                }
            }
            Metric::Tsplib(t) => t.dist(a, b),
        }
    }

    /// The point as a 3-D vector of its [`Embedding`].
    pub fn embed(self, p: [f64; 2]) -> [f64; 3] {
        match self {
            Metric::Haversine | Metric::Geodesic => unit_vector(p[0].to_radians(), p[1].to_radians()),
            Metric::Tsplib(Tsplib::Geo) => unit_vector(tsplib_geo_radians(p[0]), tsplib_geo_radians(p[1])),
            _ => [p[0], p[1], 0.0],
        }
    }
}

impl Tsplib {
    /// Parses an `EDGE_WEIGHT_TYPE` value.
    pub fn from_name(name: &str) -> Option<Tsplib> {
        match name {
            "EUC_2D" => Some(Tsplib::Euc2d),
            "CEIL_2D" => Some(Tsplib::Ceil2d),
            "ATT" => Some(Tsplib::Att),
            "GEO" => Some(Tsplib::Geo),
            _ => None,
        }
    }

    /// TSPLIB95's definitions, integer valued.
    pub fn dist(self, a: [f64; 2], b: [f64; 2]) -> f64 {
        let (dx, dy) = (a[0] - b[0], a[1] - b[1]);
        match self {
            Tsplib::Euc2d => nint((dx * dx + dy * dy).sqrt()),
            Tsplib::Ceil2d => (dx * dx + dy * dy).sqrt().ceil(),
            Tsplib::Att => {
                let r = ((dx * dx + dy * dy) / 10.0).sqrt();
                let t = nint(r);
                if t < r {
                    t + 1.0
                } else {
                    t
                }
            }
            Tsplib::Geo => {
                const RRR: f64 = 6378.388;
                let (lat_a, lon_a) = (tsplib_geo_radians(a[0]), tsplib_geo_radians(a[1]));
                let (lat_b, lon_b) = (tsplib_geo_radians(b[0]), tsplib_geo_radians(b[1]));
                let q1 = (lon_a - lon_b).cos();
                let q2 = (lat_a - lat_b).cos();
                let q3 = (lat_a + lat_b).cos();
                let x = (0.5 * ((1.0 + q1) * q2 - (1.0 - q1) * q3)).clamp(-1.0, 1.0);
                (RRR * x.acos() + 1.0).trunc()
            }
        }
    }
}

/// TSPLIB's `nint`: `(int)(x + 0.5)`.
fn nint(x: f64) -> f64 {
    (x + 0.5).trunc()
}

/// TSPLIB GEO: `DDD.MM` to radians with TSPLIB's PI = 3.141592, degrees
/// truncated (as Concorde and the published optima do).
#[allow(clippy::approx_constant)] // TSPLIB's own PI, on purpose.
fn tsplib_geo_radians(x: f64) -> f64 {
    const PI: f64 = 3.141592;
    PI * tsplib_geo_degrees(x) / 180.0
}

/// TSPLIB GEO's `DDD.MM` (degrees, then minutes as the fraction: 89.99 is
/// 89° 99′) as degrees, the way TSPLIB reads it.
pub fn tsplib_geo_degrees(x: f64) -> f64 {
    let deg = x.trunc();
    let min = x - deg;
    deg + 5.0 * min / 3.0
}

fn unit_vector(lat: f64, lon: f64) -> [f64; 3] {
    let (slat, clat) = lat.sin_cos();
    let (slon, clon) = lon.sin_cos();
    [clat * clon, clat * slon, slat]
}

/// Great-circle distance, haversine formula, km.
///
/// Past a quarter turn (h > 1/2) asin is steep, and near the antipode it
/// turned the rounding of h into up to 0.3 m: there the arc is a half turn less
/// the arc to b's antipode, whose haversine is short and keeps its
/// precision (as in [`chord_km`] and the SIMD kernel).
pub fn haversine_km(a: [f64; 2], b: [f64; 2]) -> f64 {
    let (lat1, lat2) = (a[0].to_radians(), b[0].to_radians());
    let dlat = lat2 - lat1;
    let dlon = (b[1] - a[1]).to_radians();
    let cos_cos = lat1.cos() * lat2.cos();
    let h = (dlat / 2.0).sin().powi(2) + cos_cos * (dlon / 2.0).sin().powi(2);
    if h <= 0.5 {
        2.0 * EARTH_RADIUS_KM * h.sqrt().asin()
    } else {
        // The antipode of b: latitude −lat2, longitude lon2 + 180°.
        let to_antipode = ((lat1 + lat2) / 2.0).sin().powi(2) + cos_cos * (dlon / 2.0).cos().powi(2);
        EARTH_RADIUS_KM * (PI - 2.0 * to_antipode.sqrt().min(1.0).asin())
    }
}

/// Haversine from unit vectors, no trigonometry per pair: `2R·asin(|p−q|/2)`,
/// or past a quarter turn, where that loses precision, `R·(π −
/// 2·asin(|p+q|/2))`.
pub fn chord_km(p: [f64; 3], q: [f64; 3]) -> f64 {
    let c2 = (p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2) + (p[2] - q[2]).powi(2);
    if c2 <= 2.0 {
        2.0 * EARTH_RADIUS_KM * (0.5 * c2.sqrt()).asin()
    } else {
        let s = ((p[0] + q[0]).powi(2) + (p[1] + q[1]).powi(2) + (p[2] + q[2]).powi(2)).sqrt();
        EARTH_RADIUS_KM * (PI - 2.0 * (0.5 * s).min(1.0).asin())
    }
}

/// WGS-84 geodesic distance (Karney's algorithm), km.
pub fn geodesic_km(a: [f64; 2], b: [f64; 2]) -> f64 {
    static WGS84: OnceLock<Geodesic> = OnceLock::new();
    let s12: f64 = WGS84.get_or_init(Geodesic::wgs84).inverse(a[0], a[1], b[0], b[1]);
    s12 / 1000.0
}

/// The legs of a closed (`round_trip`) or open tour through `order`.
pub fn tour_legs(metric: Metric, points: &[[f64; 2]], order: &[usize], round_trip: bool) -> Vec<f64> {
    // Two spellings of one place on the globe (`Metric::place`) are 0 apart
    // exactly. Not on TSPLIB's metrics: GEO puts duplicates 1 apart. A
    // point's leg to itself (a one-point round trip) is no travel on any
    // metric, where GEO's formula gives 1.
    let leg = |a: usize, b: usize| {
        let (p, q) = (points[a], points[b]);
        if a == b || (metric.is_geographic() && metric.place(p) == metric.place(q)) {
            0.0
        } else {
            metric.dist(p, q)
        }
    };
    let mut legs: Vec<f64> = order.windows(2).map(|w| leg(w[0], w[1])).collect();
    if round_trip && !order.is_empty() {
        legs.push(leg(order[order.len() - 1], order[0]));
    }
    legs
}

/// The length of a tour from its legs. Rust's float `sum` of nothing is
/// -0.0, which a one-point path would print as `"distance_km": -0.0`.
pub fn legs_total(legs: &[f64]) -> f64 {
    0.0 + legs.iter().sum::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both great-circle formulas against `R·atan2(|p×q|, p·q)`, which keeps
    /// its precision at every angle, within a micrometre: on random pairs,
    /// near pairs and near antipodes. Near antipodes the formulas once lost
    /// up to 0.3 m, and not alike: Held–Karp (on `chord_km`) chose a tour
    /// that the reported legs (on `haversine_km`) made 0.17 m longer than
    /// another (8 mm in exact arithmetic), and it was printed `optimal`.
    #[test]
    fn great_circle_formulas_keep_their_precision_at_every_angle() {
        let reference = |a: [f64; 2], b: [f64; 2]| {
            let (p, q) = (Metric::Haversine.embed(a), Metric::Haversine.embed(b));
            let cross = [p[1] * q[2] - p[2] * q[1], p[2] * q[0] - p[0] * q[2], p[0] * q[1] - p[1] * q[0]];
            let sin = (cross[0].powi(2) + cross[1].powi(2) + cross[2].powi(2)).sqrt();
            EARTH_RADIUS_KM * sin.atan2(p[0] * q[0] + p[1] * q[1] + p[2] * q[2])
        };
        let mut rng = fastrand::Rng::with_seed(7);
        let wrap = |lon: f64| if lon > 180.0 { lon - 360.0 } else { lon };
        for k in 0..30_000 {
            let a = [rng.f64() * 178.0 - 89.0, rng.f64() * 360.0 - 180.0];
            let nudge = 10f64.powf(-1.0 - 7.0 * rng.f64()) * if rng.bool() { 1.0 } else { -1.0 };
            let b = match k % 3 {
                0 => [rng.f64() * 180.0 - 90.0, rng.f64() * 360.0 - 180.0],
                1 => [a[0] + nudge, a[1] - nudge],
                _ => [-a[0] + nudge, wrap(a[1] + 180.0) + nudge],
            };
            let (h, c, r) =
                (haversine_km(a, b), chord_km(Metric::Haversine.embed(a), Metric::Haversine.embed(b)), reference(a, b));
            assert!(
                (h - r).abs() <= 1e-9 && (c - r).abs() <= 1e-9,
                "{a:?} {b:?}: haversine {h}, chord {c}, reference {r}"
            );
        }
    }

    #[test]
    fn haversine_known_value() {
        // Chicago to New York on the mean sphere (Python's math module, same formula).
        let d = haversine_km([41.8781, -87.6298], [40.73061, -73.935242]);
        assert!((d - 1149.7727779628708).abs() < 1e-9, "{d}");
    }

    /// Reference values from GeographicLib (Python `geographiclib` 2.x,
    /// `Geodesic.WGS84.Inverse(...)["s12"]`), in metres.
    #[test]
    fn geodesic_matches_geographiclib_reference() {
        let cases = [
            ([40.6, -73.8], [51.6, -0.5], 5551759.4003186785),
            ([0.0, 0.0], [0.0, 1.0], 111319.49079327357),
            ([90.0, 0.0], [-90.0, 0.0], 20003931.458625447),
            ([41.8781, -87.6298], [33.753746, -84.38633], 945687.028805887),
            // Nearly antipodal: where Vincenty's method fails to converge.
            ([0.0, 0.0], [0.5, 179.5], 19936288.578965314),
            ([-33.9, 18.4], [35.7, 139.7], 14731555.666119039),
        ];
        for (a, b, metres) in cases {
            let d = geodesic_km(a, b) * 1000.0;
            assert!((d - metres).abs() < 1e-6, "{a:?} {b:?}: {d} vs {metres}");
        }
    }

    #[test]
    fn tsplib_rounding() {
        assert_eq!(Tsplib::Euc2d.dist([0.0, 0.0], [3.0, 4.4]), 5.0);
        assert_eq!(Tsplib::Euc2d.dist([0.0, 0.0], [0.0, 2.5]), 3.0);
        assert_eq!(Tsplib::Ceil2d.dist([0.0, 0.0], [3.0, 4.01]), 6.0);
        // ATT: sqrt((100+0)/10) = 3.162 -> nint 3 < r -> 4.
        assert_eq!(Tsplib::Att.dist([0.0, 0.0], [10.0, 0.0]), 4.0);
        // GEO is integer valued and symmetric.
        let (a, b) = ([16.47, 96.10], [20.09, 92.54]);
        let d = Tsplib::Geo.dist(a, b);
        assert_eq!(d, d.trunc());
        assert_eq!(d, Tsplib::Geo.dist(b, a));
    }

    #[test]
    fn legs_sum_to_length() {
        let pts = [[0.0, 0.0], [3.0, 4.0], [3.0, 0.0]];
        let legs = tour_legs(Metric::Euclidean, &pts, &[0, 1, 2], true);
        assert_eq!(legs, vec![5.0, 4.0, 3.0]);
        let legs = tour_legs(Metric::Euclidean, &pts, &[0, 1, 2], false);
        assert_eq!(legs, vec![5.0, 4.0]);
        // A one-point round trip is no travel, on GEO too (its d(i, i) is
        // 1), while two copies of a GEO point stay 1 apart as TSPLIB has it.
        let geo = Metric::Tsplib(Tsplib::Geo);
        assert_eq!(tour_legs(geo, &[[16.47, 96.10]], &[0], true), vec![0.0]);
        assert_eq!(tour_legs(geo, &[[16.47, 96.10]; 2], &[0, 1], true), vec![1.0, 1.0]);
    }

    /// A 3-4-5 triangle at any scale: its squares underflow from about
    /// 1e-154, and they once made such legs 0.
    #[test]
    fn euclidean_distance_holds_at_tiny_scales() {
        for scale in [1.0, 1e-100, 1e-150, 1e-160, 1e-200, 2f64.powi(-1000), 1e-310] {
            let d = Metric::Euclidean.dist([0.0, 0.0], [3.0 * scale, 4.0 * scale]);
            assert!((d / scale - 5.0).abs() <= 1e-12 * 5.0 || scale < f64::MIN_POSITIVE, "{scale}: {d}");
            assert!(d > 0.0, "{scale}: {d}");
        }
    }
}
