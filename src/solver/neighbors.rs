//! Candidate lists: each node's K nearest neighbours, nearest first.
//!
//! With a matrix the lists come from its rows (exact for the metric); without
//! one from a k-d tree over the metric's 3-D embedding (unit vectors for
//! spherical metrics, the plane otherwise), built once and queried in
//! parallel, then ordered by the metric itself.

use super::Dist;
use crate::matrix::DistMatrix;
use crate::metric::Metric;
use kiddo::{ImmutableKdTree, SquaredEuclidean};
use rayon::prelude::*;
use std::num::NonZero;

/// Neighbour lists in compressed rows: `list[offs[i]..offs[i + 1]]`.
pub struct Neighbors {
    offs: Vec<u32>,
    list: Vec<u32>,
}

impl Neighbors {
    #[inline(always)]
    pub fn of(&self, i: u32) -> &[u32] {
        &self.list[self.offs[i as usize] as usize..self.offs[i as usize + 1] as usize]
    }

    fn from_rows(rows: Vec<Vec<u32>>) -> Neighbors {
        let mut offs = Vec::with_capacity(rows.len() + 1);
        offs.push(0);
        let mut list = Vec::with_capacity(rows.iter().map(Vec::len).sum());
        for r in rows {
            list.extend_from_slice(&r);
            offs.push(list.len() as u32);
        }
        Neighbors { offs, list }
    }

    /// The K nearest by a full matrix.
    pub fn from_matrix(m: &DistMatrix, k: usize) -> Neighbors {
        let n = m.n();
        let k = k.min(n.saturating_sub(1));
        let rows = (0..n)
            .into_par_iter()
            .map(|i| {
                let row = m.row(i);
                let mut idx: Vec<u32> = (0..n as u32).filter(|&j| j as usize != i).collect();
                let by = |a: &u32, b: &u32| row[*a as usize].total_cmp(&row[*b as usize]).then(a.cmp(b));
                if k < idx.len() {
                    idx.select_nth_unstable_by(k, by);
                    idx.truncate(k);
                }
                idx.sort_unstable_by(by);
                idx
            })
            .collect();
        Neighbors::from_rows(rows)
    }

    /// The K nearest by a k-d tree over the metric's embedding.
    pub fn from_points<D: Dist>(metric: Metric, points: &[[f64; 2]], dist: &D, k: usize) -> Neighbors {
        let n = points.len();
        let k = k.min(n.saturating_sub(1));
        if k == 0 {
            return Neighbors::from_rows(vec![Vec::new(); n]);
        }
        let emb: Vec<[f64; 3]> = points.par_iter().map(|&p| metric.embed(p)).collect();
        let tree: ImmutableKdTree<f64, 3> = ImmutableKdTree::new_from_slice(&emb);
        // One extra: the point itself is its own nearest.
        let want = NonZero::new(k + 1).expect("k + 1 > 0");
        let rows = (0..n)
            .into_par_iter()
            .map(|i| {
                let mut idx: Vec<u32> = tree
                    .nearest_n::<SquaredEuclidean>(&emb[i], want)
                    .into_iter()
                    .map(|nb| nb.item as u32)
                    .filter(|&j| j as usize != i)
                    .take(k)
                    .collect();
                idx.sort_by(|&a, &b| dist.d(i, a as usize).total_cmp(&dist.d(i, b as usize)).then(a.cmp(&b)));
                idx
            })
            .collect();
        Neighbors::from_rows(rows)
    }

    /// Adds an extra node `n` (the dummy of an open path) whose only
    /// candidates are `ends`, and puts it first in their lists.
    pub fn with_dummy(self, ends: &[u32]) -> Neighbors {
        let n = self.offs.len() - 1;
        let rows: Vec<Vec<u32>> = (0..n as u32)
            .map(|i| {
                let mut r = Vec::with_capacity(self.of(i).len() + 1);
                if ends.contains(&i) {
                    r.push(n as u32);
                }
                r.extend_from_slice(self.of(i));
                r
            })
            .chain(std::iter::once(ends.to_vec()))
            .collect();
        Neighbors::from_rows(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solver::PointDist;

    #[test]
    fn kd_tree_lists_equal_matrix_lists() {
        let mut rng = fastrand::Rng::with_seed(2);
        for metric in [Metric::Haversine, Metric::Euclidean] {
            let pts: Vec<[f64; 2]> = (0..300).map(|_| [rng.f64() * 60.0 - 30.0, rng.f64() * 60.0]).collect();
            let m = DistMatrix::scalar(metric, &pts);
            let a = Neighbors::from_matrix(&m, 8);
            let b = Neighbors::from_points(metric, &pts, &PointDist::new(metric, &pts), 8);
            for i in 0..300 {
                assert_eq!(a.of(i), b.of(i), "node {i}");
            }
        }
    }
}
