//! Full distance matrices: a scalar reference and a SIMD kernel behind one type.
//!
//! The matrix is f32, row-major, rows padded to a multiple of 8 so that the
//! SIMD kernel writes whole `f32x8` lanes. The solver reads it through
//! [`crate::solver::Dist`]; reported lengths are always recomputed in f64.

use crate::metric::{Embedding, Metric, EARTH_RADIUS_KM};
use rayon::prelude::*;
use wide::f32x8;

const LANES: usize = 8;

/// A dense `n × n` distance matrix.
#[derive(Clone, Debug)]
pub struct DistMatrix {
    n: usize,
    stride: usize,
    data: Vec<f32>,
}

impl DistMatrix {
    pub(crate) fn zeroed(n: usize) -> DistMatrix {
        let stride = n.div_ceil(LANES) * LANES;
        DistMatrix { n, stride, data: vec![0.0; n * stride] }
    }

    /// Floats per row, padding included (a multiple of 8).
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// All rows with their padding, for kernels that fill the matrix.
    pub(crate) fn data_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }

    pub fn n(&self) -> usize {
        self.n
    }

    #[inline(always)]
    pub fn get(&self, i: usize, j: usize) -> f32 {
        self.data[i * self.stride + j]
    }

    /// Row `i`, without the padding.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.stride..i * self.stride + self.n]
    }

    /// The simple reference: one f64 [`Metric::dist`] per pair, in order.
    pub fn scalar(metric: Metric, points: &[[f64; 2]]) -> DistMatrix {
        let mut m = DistMatrix::zeroed(points.len());
        for (i, row) in m.data.chunks_exact_mut(m.stride.max(1)).enumerate() {
            for (j, out) in row[..points.len()].iter_mut().enumerate() {
                *out = metric.dist(points[i], points[j]) as f32;
            }
        }
        m
    }

    /// The fast path: `f32x8` lanes for haversine and euclidean, rows split
    /// with rayon. Metrics without a vector formula (geodesic, TSPLIB's
    /// integer metrics, which must be exact) use the scalar function per pair,
    /// still in parallel.
    pub fn simd(metric: Metric, points: &[[f64; 2]]) -> DistMatrix {
        let mut m = DistMatrix::zeroed(points.len());
        if points.is_empty() {
            return m;
        }
        let stride = m.stride;
        match metric {
            Metric::Haversine | Metric::Euclidean => {
                let lanes = Lanes::new(metric, points, stride);
                m.data.par_chunks_exact_mut(stride).enumerate().for_each(|(i, row)| lanes.fill_row(i, row));
            }
            _ => m.data.par_chunks_exact_mut(stride).enumerate().for_each(|(i, row)| {
                for (j, out) in row[..points.len()].iter_mut().enumerate() {
                    *out = metric.dist(points[i], points[j]) as f32;
                }
            }),
        }
        m
    }
}

/// The instruction set `wide` was compiled for, as the backend reports it.
pub fn simd_backend_name() -> &'static str {
    if cfg!(all(target_arch = "x86_64", target_feature = "avx2")) {
        "cpu-simd-avx2"
    } else if cfg!(target_arch = "x86_64") {
        "cpu-simd-sse2"
    } else if cfg!(target_arch = "aarch64") {
        "cpu-simd-neon"
    } else {
        "cpu-simd"
    }
}

/// Each point's vector (the unit vector for haversine, the centred plane
/// point for euclidean) as f32 `hi + lo` per coordinate, structure of arrays.
/// The GPU kernel takes the same split. Returns whether it is a sphere.
pub(crate) fn split(metric: Metric, points: &[[f64; 2]]) -> (bool, [Vec<f32>; 3], [Vec<f32>; 3]) {
    let sphere = metric.embedding() == Embedding::Sphere;
    // Centre planar data so large offsets do not eat the mantissa.
    let centre = if sphere || points.is_empty() {
        [0.0; 2]
    } else {
        let n = points.len() as f64;
        let s = points.iter().fold([0.0, 0.0], |s, p| [s[0] + p[0], s[1] + p[1]]);
        [s[0] / n, s[1] / n]
    };
    let mut hi: [Vec<f32>; 3] = Default::default();
    let mut lo: [Vec<f32>; 3] = Default::default();
    for p in points {
        let v = if sphere { metric.embed(*p) } else { [p[0] - centre[0], p[1] - centre[1], 0.0] };
        for k in 0..3 {
            let h = v[k] as f32;
            hi[k].push(h);
            lo[k].push((v[k] - h as f64) as f32);
        }
    }
    (sphere, hi, lo)
}

/// Points in structure-of-arrays form, each coordinate split into an f32
/// high part and an f32 low part (`x ≈ hi + lo`). The difference of two close
/// points is then `(hi_q − hi_p) + (lo_q − lo_p)`, whose first term is exact
/// (Sterbenz), so short distances keep full f32 relative precision instead of
/// the ~0.5 m absolute error that plain f32 coordinates give.
struct Lanes {
    sphere: bool,
    hi: [Vec<f32x8>; 3],
    lo: [Vec<f32x8>; 3],
    /// Per point, the same split as scalars, for broadcasting row `i`.
    hi_s: [Vec<f32>; 3],
    lo_s: [Vec<f32>; 3],
}

impl Lanes {
    fn new(metric: Metric, points: &[[f64; 2]], stride: usize) -> Lanes {
        let (sphere, hi_s, lo_s) = split(metric, points);
        let pack = |s: &Vec<f32>| -> Vec<f32x8> {
            let mut padded = s.clone();
            padded.resize(stride, 0.0);
            padded.chunks_exact(LANES).map(|c| f32x8::new(c.try_into().expect("chunk of 8"))).collect()
        };
        let hi = [pack(&hi_s[0]), pack(&hi_s[1]), pack(&hi_s[2])];
        let lo = [pack(&lo_s[0]), pack(&lo_s[1]), pack(&lo_s[2])];
        Lanes { sphere, hi, lo, hi_s, lo_s }
    }

    fn fill_row(&self, i: usize, row: &mut [f32]) {
        let ph = [0, 1, 2].map(|k| f32x8::splat(self.hi_s[k][i]));
        let pl = [0, 1, 2].map(|k| f32x8::splat(self.lo_s[k][i]));
        let two_r = f32x8::splat((2.0 * EARTH_RADIUS_KM) as f32);
        let (half, one, two) = (f32x8::splat(0.5), f32x8::splat(1.0), f32x8::splat(2.0));
        let quarter_turn = f32x8::splat(std::f32::consts::FRAC_PI_2);
        for (c, out) in row.chunks_exact_mut(LANES).enumerate() {
            let mut sq = f32x8::splat(0.0);
            for k in 0..3 {
                let d = (self.hi[k][c] - ph[k]) + (self.lo[k][c] - pl[k]);
                sq = d.mul_add(d, sq);
            }
            let d = if self.sphere {
                // Past 90° asin(chord/2) is too steep for f32 (4 km off near
                // antipodes): there the arc is π − 2·asin(|p + q|/2), and
                // |p + q| is short and keeps its precision.
                let mut sum_sq = f32x8::splat(0.0);
                for k in 0..3 {
                    let s = (self.hi[k][c] + ph[k]) + (self.lo[k][c] + pl[k]);
                    sum_sq = s.mul_add(s, sum_sq);
                }
                let far = sq.simd_gt(two);
                let a = (far.select(sum_sq, sq).sqrt() * half).min(one).asin();
                two_r * far.select(quarter_turn - a, a)
            } else {
                sq.sqrt()
            };
            out.copy_from_slice(&d.to_array());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::Tsplib;

    fn random_points(rng: &mut fastrand::Rng, n: usize, geographic: bool) -> Vec<[f64; 2]> {
        (0..n)
            .map(|_| {
                if geographic {
                    [rng.f64() * 180.0 - 90.0, rng.f64() * 360.0 - 180.0]
                } else {
                    [rng.f64() * 1e4 + 5e5, rng.f64() * 1e4 - 3e3]
                }
            })
            .collect()
    }

    fn assert_close(a: &DistMatrix, b: &DistMatrix, rel: f32) {
        assert_eq!(a.n(), b.n());
        for i in 0..a.n() {
            for j in 0..a.n() {
                let (x, y) = (a.get(i, j), b.get(i, j));
                assert!((x - y).abs() <= rel * y.abs(), "[{i}][{j}]: simd {x} vs scalar {y}");
            }
        }
    }

    #[test]
    fn simd_equals_scalar_on_random_inputs() {
        let mut rng = fastrand::Rng::with_seed(11);
        for n in [1, 2, 7, 8, 9, 63, 200] {
            for (metric, geo) in [(Metric::Haversine, true), (Metric::Euclidean, false)] {
                let pts = random_points(&mut rng, n, geo);
                assert_close(&DistMatrix::simd(metric, &pts), &DistMatrix::scalar(metric, &pts), 1e-5);
            }
        }
    }

    /// Close points (a city block apart) keep their relative precision.
    #[test]
    fn simd_is_precise_for_short_distances() {
        let mut rng = fastrand::Rng::with_seed(5);
        let pts: Vec<[f64; 2]> = (0..64).map(|_| [41.88 + rng.f64() * 0.01, -87.63 + rng.f64() * 0.01]).collect();
        assert_close(&DistMatrix::simd(Metric::Haversine, &pts), &DistMatrix::scalar(Metric::Haversine, &pts), 1e-5);
    }

    /// Nearly antipodal points, where asin(chord/2) alone loses kilometres
    /// in f32, keep f32 relative precision too.
    #[test]
    fn simd_is_precise_near_antipodes() {
        let mut rng = fastrand::Rng::with_seed(9);
        let mut pts: Vec<[f64; 2]> = (0..32).map(|_| [rng.f64() * 160.0 - 80.0, rng.f64() * 360.0 - 180.0]).collect();
        let antipodes: Vec<[f64; 2]> = pts
            .iter()
            .map(|p| [-p[0] + rng.f64() * 0.2 - 0.1, (p[1] + 360.0 + rng.f64() * 0.2 - 0.1).rem_euclid(360.0) - 180.0])
            .collect();
        pts.extend(antipodes);
        assert_close(&DistMatrix::simd(Metric::Haversine, &pts), &DistMatrix::scalar(Metric::Haversine, &pts), 1e-6);
    }

    #[test]
    fn exact_metrics_are_identical() {
        let mut rng = fastrand::Rng::with_seed(3);
        let pts: Vec<[f64; 2]> = (0..50).map(|_| [rng.f64() * 1000.0, rng.f64() * 1000.0]).collect();
        for metric in [Metric::Tsplib(Tsplib::Euc2d), Metric::Tsplib(Tsplib::Att), Metric::Tsplib(Tsplib::Ceil2d)] {
            let (a, b) = (DistMatrix::simd(metric, &pts), DistMatrix::scalar(metric, &pts));
            for i in 0..50 {
                assert_eq!(a.row(i), b.row(i));
            }
        }
    }

    #[test]
    fn duplicates_are_zero() {
        let pts = vec![[10.0, 20.0]; 9];
        let m = DistMatrix::simd(Metric::Haversine, &pts);
        assert!((0..9).all(|i| m.row(i).iter().all(|&d| d == 0.0)));
    }
}
