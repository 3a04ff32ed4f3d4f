//! Nearest-point queries over the metric's 3-D embedding (kiddo's k-d tree).

use kiddo::{ImmutableKdTree, SquaredEuclidean};
use std::num::NonZero;

/// A k-d tree over points `[x, y, z]`, built in two dimensions where every
/// z is the same (the plane's embedding `[x, y, 0]`, or points on one
/// parallel of latitude). kiddo splits the coordinates in turn, at a fixed
/// depth, and a split of equal values cuts off a single point: on a
/// constant z a third of the levels divide nothing, and the leaves a query
/// scans hold about 30 times as many points at 10^6 (5 of 15 levels). 10^6
/// points on the plane under a 1 s limit took 2.3 times the CPU time, 12.9
/// s against 5.6 s (BENCHMARKS.md, "Time limits on degenerate and very
/// large inputs").
pub enum PointTree {
    Flat(ImmutableKdTree<f64, 2>),
    Full(ImmutableKdTree<f64, 3>),
}

impl PointTree {
    pub fn new(pts: &[[f64; 3]]) -> PointTree {
        if pts.windows(2).all(|w| w[0][2] == w[1][2]) {
            let flat: Vec<[f64; 2]> = pts.iter().map(|p| [p[0], p[1]]).collect();
            PointTree::Flat(ImmutableKdTree::new_from_slice(&flat))
        } else {
            PointTree::Full(ImmutableKdTree::new_from_slice(pts))
        }
    }

    /// The indices of the `m` points nearest `q` (all, if there are fewer),
    /// nearest first. Equally near points come in the order [`scatter`]
    /// gives their indices, also where they straddle the cut at `m` (unless
    /// over [`TIES_MAX`] more are as near), so that the lists do not depend
    /// on the tree's shape: its own order keeps the points on the side it
    /// searches first, and a grid's lists lean that way.
    pub fn nearest(&self, q: &[f64; 3], m: usize) -> Vec<u32> {
        match self {
            PointTree::Flat(t) => nearest(t, &[q[0], q[1]], m),
            PointTree::Full(t) => nearest(t, q, m),
        }
    }
}

/// Equally near points fetched beyond the `m`-th at most. Where more are
/// (points closer together than about 1e-162, after the plane's scaling to
/// a span of 1 to 2, whose squared distances underflow to 0), fetching them
/// all made the lists quadratic: 20,000 such points ran for over 5 minutes
/// under a 1 s limit.
const TIES_MAX: usize = 64;

fn nearest<const K: usize>(t: &ImmutableKdTree<f64, K>, q: &[f64; K], m: usize) -> Vec<u32> {
    let Some(last) = m.checked_sub(1) else { return Vec::new() };
    // One more than asked for shows whether equally near points straddle
    // the cut; if they do, they are fetched (up to `TIES_MAX` more) and the
    // cut made below.
    let mut found = t.nearest_n::<SquaredEuclidean>(q, NonZero::<usize>::MIN.saturating_add(m));
    if found.len() > m && found[m].distance == found[last].distance {
        let most = NonZero::<usize>::MIN.saturating_add(last + TIES_MAX);
        found = t.nearest_n_within::<SquaredEuclidean>(q, found[last].distance, most, false);
    }
    found
        .sort_unstable_by(|a, b| a.distance.total_cmp(&b.distance).then_with(|| scatter(a.item).cmp(&scatter(b.item))));
    found.truncate(m);
    found.iter().map(|nb| nb.item as u32).collect()
}

/// A fixed pseudo-random order of indices (Fibonacci hashing, a bijection
/// on u64) that breaks ties between equally near points.
fn scatter(i: u64) -> u64 {
    i.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against a full sort of every point by (squared distance, scatter),
    /// on integer grids (exact distances, many ties, copies of a point):
    /// flat (constant z) and in three dimensions.
    #[test]
    fn nearest_equals_a_full_sort_with_ties_in_scatter_order() {
        let mut rng = fastrand::Rng::with_seed(8);
        // (flat, points, grid side): at most a few dozen equally near
        // points, within `TIES_MAX`.
        for (flat, n, side) in
            [(true, 1, 6), (true, 2, 6), (true, 300, 6), (false, 300, 6), (false, 2000, 20), (true, 2000, 30)]
        {
            let z = |rng: &mut fastrand::Rng| if flat { 3.0 } else { rng.i32(-2..2) as f64 };
            let pts: Vec<[f64; 3]> =
                (0..n).map(|_| [rng.i32(-side..side) as f64, rng.i32(-side..side) as f64, z(&mut rng)]).collect();
            let tree = PointTree::new(&pts);
            assert_eq!(matches!(tree, PointTree::Flat(_)), flat);
            for q in pts.iter().take(40) {
                let d2 = |p: &[f64; 3]| (0..3).map(|a| (p[a] - q[a]) * (p[a] - q[a])).sum::<f64>();
                let mut all: Vec<u32> = (0..n as u32).collect();
                all.sort_by(|&a, &b| {
                    d2(&pts[a as usize])
                        .total_cmp(&d2(&pts[b as usize]))
                        .then(scatter(a.into()).cmp(&scatter(b.into())))
                });
                for m in [0, 1, 5, 11, 41, 161, n + 3] {
                    assert_eq!(tree.nearest(q, m), all[..m.min(n)], "n {n}, flat {flat}, m {m}, query {q:?}");
                }
            }
        }
    }

    /// Over `TIES_MAX` equally near points: still the `m` nearest, each
    /// once, the nearer points first.
    #[test]
    fn very_many_equally_near_points_give_m_of_them() {
        // Five points 1 to 5 from the query, 3,000 copies of one 10 from it,
        // then ten more beyond.
        let q = [0.0, 0.0, 0.0];
        let mut pts: Vec<[f64; 3]> = (1..=5).map(|i| [f64::from(i), 0.0, 0.0]).collect();
        pts.extend(vec![[6.0, 8.0, 0.0]; 3000]);
        pts.extend((11..=20).map(|i| [0.0, f64::from(i), 0.0]));
        let tree = PointTree::new(&pts);
        for m in [1, 5, 6, 11, 641, 3005] {
            let got = tree.nearest(&q, m);
            let mut seen = got.clone();
            seen.sort_unstable();
            seen.dedup();
            assert_eq!((got.len(), seen.len()), (m, m), "m {m}");
            assert_eq!(got[..m.min(5)], [0, 1, 2, 3, 4][..m.min(5)], "m {m}");
            assert!(got[m.min(5)..].iter().all(|&j| (5..3005).contains(&j)), "m {m}: {got:?}");
        }
        // Beyond the copies, the rest by distance.
        let got = tree.nearest(&q, 3010);
        assert_eq!(got[3005..], [3005, 3006, 3007, 3008, 3009]);
    }
}
