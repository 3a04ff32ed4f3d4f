//! Candidate lists: each node's K nearest neighbours, nearest first.
//!
//! With a matrix the lists come from its rows (exact for the metric); without
//! one from a k-d tree over the metric's embedding (unit vectors for
//! spherical metrics, the plane otherwise; [`PointTree`]), built once and
//! queried in parallel, then ordered by the metric itself. Of equally near
//! points a list keeps those [`PointTree::nearest`] puts first, whatever
//! the tree's shape.

use super::{kdtree::PointTree, Dist, PointDist};
use crate::matrix::DistMatrix;
use crate::metric::Embedding;
use rayon::prelude::*;
use std::time::Instant;

/// How far (in nearest points) the search for quadrant neighbours widens
/// before it gives up on an empty quadrant.
const QUADRANT_SEARCH: [usize; 3] = [40, 160, 640];

/// Matrix rows per rayon task at least: the lists of a small instance (most
/// requests, solved many at a time) are built on one thread.
const ROWS_PER_TASK: usize = 256;

/// An f32 as an unsigned key that sorts as [`f32::total_cmp`] does.
fn order_key(x: f32) -> u64 {
    let b = x.to_bits();
    u64::from(if b >> 31 == 1 { !b } else { b | 0x8000_0000 })
}

/// Two unit vectors spanning the plane in which quadrants are told apart:
/// x and y on the plane, east and north at `u` on the sphere.
fn tangent_frame(sphere: bool, u: [f64; 3]) -> [[f64; 3]; 2] {
    let r = (u[0] * u[0] + u[1] * u[1]).sqrt();
    if !sphere || r < 1e-12 {
        return [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]];
    }
    let east = [-u[1] / r, u[0] / r, 0.0];
    let north = [u[1] * east[2] - u[2] * east[1], u[2] * east[0] - u[0] * east[2], u[0] * east[1] - u[1] * east[0]];
    [east, north]
}

fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// The quadrant (0 south-west, 1 south-east, 2 north-west, 3 north-east in
/// `frame`) of the point at offset `v`; one on an axis is east or north of it.
fn quadrant_of(v: [f64; 3], frame: [[f64; 3]; 2]) -> usize {
    usize::from(dot(v, frame[0]) >= 0.0) + 2 * usize::from(dot(v, frame[1]) >= 0.0)
}

/// For each point of the plane, which quadrants around it ([`quadrant_of`])
/// hold another point at all: one sort by x and two sweeps. Widening the
/// search for a quadrant that holds nothing finds nothing, and on a line
/// every node has such a quadrant (BENCHMARKS.md: 100,000 points on a line
/// under a 1 s limit took up to 19 s).
fn occupied_quadrants(pts: &[[f64; 3]]) -> Vec<[bool; 4]> {
    let mut by_x: Vec<u32> = (0..pts.len() as u32).collect();
    by_x.par_sort_unstable_by(|&a, &b| pts[a as usize][0].total_cmp(&pts[b as usize][0]));
    let groups = || by_x.chunk_by(|&a, &b| pts[a as usize][0] == pts[b as usize][0]);
    let mut out = vec![[false; 4]; pts.len()];
    sweep(pts, groups(), false, &mut out);
    sweep(pts, groups().rev(), true, &mut out);
    out
}

/// One sweep of [`occupied_quadrants`] over groups of equal x: west
/// (x_j < x_i) going up in x, each group answered before it is taken in;
/// or east (x_j ≥ x_i) going down, each group taken in first. It keeps the
/// two highest and the two lowest y so far, so a point never counts itself.
fn sweep<'a>(pts: &[[f64; 3]], groups: impl Iterator<Item = &'a [u32]>, east: bool, out: &mut [[bool; 4]]) {
    /// The two largest values taken in, with their points.
    struct Top2([(f64, u32); 2]);
    impl Top2 {
        fn insert(&mut self, v: f64, i: u32) {
            if v > self.0[0].0 {
                self.0 = [(v, i), self.0[0]];
            } else if v > self.0[1].0 {
                self.0[1] = (v, i);
            }
        }
        /// Whether a point other than `i` reached `v` (passed it, if `strict`).
        fn reaches(&self, v: f64, i: u32, strict: bool) -> bool {
            let (best, _) = if self.0[0].1 == i { self.0[1] } else { self.0[0] };
            best > v || (!strict && best == v)
        }
    }
    /// The highest y, and the highest −y (the lowest y).
    struct Extremes(Top2, Top2);
    impl Extremes {
        fn take_in(&mut self, pts: &[[f64; 3]], group: &[u32]) {
            for &i in group {
                self.0.insert(pts[i as usize][1], i);
                self.1.insert(-pts[i as usize][1], i);
            }
        }
    }
    let none = [(f64::NEG_INFINITY, u32::MAX); 2];
    let mut seen = Extremes(Top2(none), Top2(none));
    let (south, north) = (usize::from(east), 2 + usize::from(east));
    for group in groups {
        if east {
            seen.take_in(pts, group);
        }
        for &i in group {
            // As in `quadrant_of`: south is y_j < y_i, north y_j ≥ y_i.
            let y = pts[i as usize][1];
            out[i as usize][south] = seen.1.reaches(-y, i, true);
            out[i as usize][north] = seen.0.reaches(y, i, false);
        }
        if !east {
            seen.take_in(pts, group);
        }
    }
}

/// How many nodes of [`Neighbors::from_points`] searched their widest (the
/// last of [`QUADRANT_SEARCH`]) for a quadrant neighbour, and how many would
/// have widened their search when its time had passed.
#[derive(Debug, Default, PartialEq)]
struct Widened {
    widest: usize,
    cut: usize,
}

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

    /// Node `i`'s list padded to `k` entries by repeating its last one: the
    /// fixed-width rows the GPU kernels read (nothing for an empty list).
    pub fn padded(&self, i: u32, k: usize) -> impl Iterator<Item = u32> + '_ {
        let list = self.of(i);
        let k = if list.is_empty() { 0 } else { k };
        (0..k).map(move |j| list[j.min(list.len() - 1)])
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

    /// The K nearest by a full matrix: each row's distances as order-keeping
    /// integer keys with the column in the low bits, so one integer sort
    /// gives distance order with ties by index, the order `total_cmp` gives.
    pub fn from_matrix(m: &DistMatrix, k: usize) -> Neighbors {
        let n = m.n();
        let k = k.min(n.saturating_sub(1));
        let offs = (0..=n).map(|i| (i * k) as u32).collect();
        let mut list = vec![0u32; n * k];
        if k > 0 {
            list.par_chunks_mut(k).with_min_len(ROWS_PER_TASK).enumerate().for_each_init(Vec::new, |keys, (i, out)| {
                keys.clear();
                keys.extend(
                    m.row(i).iter().enumerate().filter(|&(j, _)| j != i).map(|(j, &x)| (order_key(x) << 32) | j as u64),
                );
                // Selecting first pays only on long rows.
                if k < keys.len() && keys.len() > 4 * k {
                    keys.select_nth_unstable(k);
                    keys.truncate(k);
                }
                keys.sort_unstable();
                for (o, key) in out.iter_mut().zip(keys.iter()) {
                    *o = *key as u32;
                }
            });
        }
        Neighbors { offs, list }
    }

    /// These lists (`m`'s K nearest) with `extra` more candidates a node, the
    /// nearest by alpha (below) of those not listed yet, when some edge of the
    /// minimum spanning tree lies in neither of its ends' lists; else the
    /// lists as they are. Each list stays in distance order, ties by index.
    ///
    /// Where points come in clusters of more than K (stops in the same
    /// building, geocoded a few metres apart), a node's K nearest all lie in
    /// its own cluster: the lists hold no edge between clusters, no move can
    /// change the order in which the tour visits them, and it stays as the
    /// greedy start left it (a review measured tours 9% to 46% too long).
    /// The spanning tree's edges between clusters are then missing from the
    /// lists, which is the test. Alpha-nearness (Helsgaun's, from the tree
    /// alone, no 1-tree ascent): alpha(i, j) is d(i, j) less the longest
    /// tree edge on the path from i to j, the least a tree containing (i, j)
    /// is longer than the minimum; it is small from every node of a cluster
    /// to the nodes of the clusters next to it. On uniform random points the
    /// tree's edges are among the nearest and nothing changes (measured in
    /// BENCHMARKS.md, "Clustered stops").
    ///
    /// O(n²) time, O(n) memory a thread: for a matrix of up to
    /// `MATRIX_MAX_N` points.
    pub fn with_spanning_candidates(self, m: &DistMatrix, extra: usize) -> Neighbors {
        let n = m.n();
        if extra == 0 || n < 3 {
            return self;
        }
        let tree = SpanningTree::of(m);
        let listed = |u: u32, v: u32| self.of(u).contains(&v) || self.of(v).contains(&u);
        let missing = tree.order[1..].iter().filter(|&&u| !listed(u, tree.parent[u as usize])).count();
        if missing == 0 {
            return self;
        }
        tracing::debug!(n, missing, extra, "spanning-tree edges not in the nearest lists: alpha candidates added");
        let rows: Vec<Vec<u32>> = (0..n)
            .into_par_iter()
            .with_min_len(ROWS_PER_TASK)
            .map_init(
                || (vec![0f32; n], vec![u32::MAX; n], vec![u32::MAX; n], Vec::new()),
                |(beta, mark, stamp, keys), i| {
                    tree.longest_edges_from(i as u32, beta, mark);
                    let own = self.of(i as u32);
                    // i and its list, stamped with i: not candidates again.
                    for &j in own.iter().chain([&(i as u32)]) {
                        stamp[j as usize] = i as u32;
                    }
                    let row = m.row(i);
                    keys.clear();
                    keys.extend(
                        (0..n)
                            .filter(|&j| stamp[j] != i as u32)
                            .map(|j| (order_key(row[j] - beta[j]) << 32 | order_key(row[j]), j as u32)),
                    );
                    let take = extra.min(keys.len());
                    if take < keys.len() {
                        keys.select_nth_unstable(take);
                    }
                    let mut out: Vec<u32> = own.iter().copied().chain(keys[..take].iter().map(|&(_, j)| j)).collect();
                    out.sort_unstable_by_key(|&j| (order_key(row[j as usize]), j));
                    out
                },
            )
            .collect();
        Neighbors::from_rows(rows)
    }

    /// The K nearest by a k-d tree over the metric's embedding, and with
    /// `quadrant` > 0 also the nearest `quadrant` points of each quadrant
    /// around the node (east/north in the tangent plane on the sphere; found
    /// among its nearest [`QUADRANT_SEARCH`] points) where they are not
    /// among the K. On clustered points the K nearest of a node at a
    /// cluster's edge all lie inside its own cluster; its quadrant neighbours
    /// are the candidate edges out of it.
    ///
    /// A node that would widen its search at or after `widen_until` does
    /// not: its list is its K nearest, with the quadrant neighbours among
    /// the points it had already searched. On curves where one quadrant of
    /// every node holds only far points (a circle's inside, the south of
    /// points on the equator) every node searched its 640 nearest and found
    /// nothing there, and 100,000 such points took 2.5 to 3.3 s under a 1 s
    /// limit (BENCHMARKS.md). Elsewhere few nodes widen: the lists are done
    /// long before a limit that leaves the search any time.
    pub fn from_points(dist: &PointDist, k: usize, quadrant: usize, widen_until: Option<Instant>) -> Neighbors {
        let (nb, Widened { widest, cut }) = Neighbors::from_points_counted(dist, k, quadrant, widen_until);
        tracing::debug!(n = nb.offs.len() - 1, widest, cut, "candidate lists from a k-d tree");
        nb
    }

    /// [`Neighbors::from_points`], and how many nodes widened how far.
    fn from_points_counted(
        dist: &PointDist,
        k: usize,
        quadrant: usize,
        widen_until: Option<Instant>,
    ) -> (Neighbors, Widened) {
        let emb = dist.embedding();
        let n = emb.len();
        let k = k.min(n.saturating_sub(1));
        if k == 0 {
            return (Neighbors::from_rows(vec![Vec::new(); n]), Widened::default());
        }
        let tree = PointTree::new(emb);
        let sphere = dist.metric().embedding() == Embedding::Sphere;
        // On the sphere every quadrant may hold a point.
        let occupied = if quadrant > 0 && !sphere { occupied_quadrants(emb) } else { Vec::new() };
        let nearest = |i: usize, m: usize| -> Vec<u32> {
            // One extra: the point itself is its own nearest.
            let mut found = tree.nearest(&emb[i], m + 1);
            found.retain(|&j| j as usize != i);
            found
        };
        // Per node: (its list, whether it searched its widest, whether the
        // time to widen had passed when it would have).
        let rows: Vec<(Vec<u32>, bool, bool)> = (0..n)
            .into_par_iter()
            .map(|i| {
                let mut found = nearest(i, k);
                let mut idx: Vec<u32> = found[..k.min(found.len())].to_vec();
                let (mut widest, mut cut) = (false, false);
                if quadrant > 0 {
                    let frame = tangent_frame(sphere, emb[i]);
                    let quadrant_of = |j: u32| quadrant_of(sub(emb[j as usize], emb[i]), frame);
                    for &m in std::iter::once(&k).chain(&QUADRANT_SEARCH) {
                        if m > k {
                            if widen_until.is_some_and(|t| Instant::now() >= t) {
                                cut = true;
                                break;
                            }
                            found = nearest(i, m);
                            widest = m == QUADRANT_SEARCH[QUADRANT_SEARCH.len() - 1];
                        }
                        let mut count = [0usize; 4];
                        found.iter().for_each(|&j| count[quadrant_of(j)] += 1);
                        // A quadrant that holds some points, but fewer than
                        // `quadrant`, still widens to the last: none does with
                        // `QUADRANT_NEIGHBORS` = 1.
                        let done = |q: usize| count[q] >= quadrant || occupied.get(i).is_some_and(|o| !o[q]);
                        if (0..4).all(done) || found.len() >= n - 1 {
                            break;
                        }
                    }
                    let mut taken = [0usize; 4];
                    for &j in &found {
                        let q = quadrant_of(j);
                        if taken[q] < quadrant {
                            taken[q] += 1;
                            if !idx.contains(&j) {
                                idx.push(j);
                            }
                        }
                    }
                }
                idx.sort_by(|&a, &b| dist.d(i, a as usize).total_cmp(&dist.d(i, b as usize)).then(a.cmp(&b)));
                (idx, widest, cut)
            })
            .collect();
        let count = |f: fn(&(Vec<u32>, bool, bool)) -> bool| rows.iter().filter(|r| f(r)).count();
        let widened = Widened { widest: count(|r| r.1), cut: count(|r| r.2) };
        (Neighbors::from_rows(rows.into_iter().map(|r| r.0).collect()), widened)
    }

    /// Adds an extra node `n` (the dummy of an open path, at distance 0 from
    /// every node) first in the lists of `ends`, with `ends` its own
    /// candidates. With a free end (`ends` holds the start only) any node may
    /// end the path: the dummy then heads every list and lists every node,
    /// so a move that ends the path elsewhere is found from any node. On
    /// open paths of 13 to 50 stops that halved the requests off the best
    /// known path, at the same time (BENCHMARKS.md).
    pub fn with_dummy(self, ends: &[u32]) -> Neighbors {
        let n = self.offs.len() - 1;
        let free_end = ends.len() == 1;
        let rows: Vec<Vec<u32>> = (0..n as u32)
            .map(|i| {
                let mut r = Vec::with_capacity(self.of(i).len() + 1);
                if free_end || ends.contains(&i) {
                    r.push(n as u32);
                }
                r.extend_from_slice(self.of(i));
                r
            })
            .chain(std::iter::once(if free_end {
                ends.iter().copied().chain((0..n as u32).filter(|i| !ends.contains(i))).collect()
            } else {
                ends.to_vec()
            }))
            .collect();
        Neighbors::from_rows(rows)
    }
}

/// A minimum spanning tree of a full matrix (Prim, O(n²)), rooted at node 0.
struct SpanningTree {
    /// Nodes in the order Prim took them: every node after its parent.
    order: Vec<u32>,
    /// Each node's parent (the root's is itself) and the length of the edge
    /// to it (0 at the root).
    parent: Vec<u32>,
    edge: Vec<f32>,
}

impl SpanningTree {
    fn of(m: &DistMatrix) -> SpanningTree {
        let n = m.n();
        let mut parent = vec![0u32; n];
        let mut edge = vec![f32::INFINITY; n];
        let mut taken = vec![false; n];
        let mut order = Vec::with_capacity(n);
        edge[0] = 0.0;
        for _ in 0..n {
            // The nearest node not taken, by index among equals.
            let mut u = usize::MAX;
            for v in 0..n {
                if !taken[v] && (u == usize::MAX || edge[v] < edge[u]) {
                    u = v;
                }
            }
            taken[u] = true;
            order.push(u as u32);
            for (v, &d) in m.row(u).iter().enumerate() {
                if !taken[v] && d < edge[v] {
                    edge[v] = d;
                    parent[v] = u as u32;
                }
            }
        }
        SpanningTree { order, parent, edge }
    }

    /// `beta[j]`: the longest edge on the tree's path from `i` to `j` (0 at
    /// `i`). The path to a node that is not an ancestor of `i` runs through
    /// its parent, so one pass in `order` gives them all once the ancestors
    /// are done (and marked with `i` in `mark`).
    fn longest_edges_from(&self, i: u32, beta: &mut [f32], mark: &mut [u32]) {
        let (mut a, root) = (i as usize, self.order[0] as usize);
        beta[a] = 0.0;
        mark[a] = i;
        while a != root {
            let p = self.parent[a] as usize;
            beta[p] = beta[a].max(self.edge[a]);
            mark[p] = i;
            a = p;
        }
        for &j in &self.order[1..] {
            let j = j as usize;
            if mark[j] != i {
                beta[j] = beta[self.parent[j] as usize].max(self.edge[j]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::Metric;

    #[test]
    fn the_dummy_heads_the_lists_of_the_nodes_that_may_end_the_path() {
        let pts: Vec<[f64; 2]> = (0..6).map(|i| [i as f64, (i * i) as f64]).collect();
        let m = DistMatrix::scalar(Metric::Euclidean, &pts);
        let plain = Neighbors::from_matrix(&m, 3);
        // Both ends fixed: only they know the dummy (6), and it knows them.
        let both = Neighbors::from_matrix(&m, 3).with_dummy(&[2, 4]);
        for i in 0..6u32 {
            let expect: Vec<u32> =
                [2, 4].contains(&i).then_some(6).into_iter().chain(plain.of(i).iter().copied()).collect();
            assert_eq!(both.of(i), &expect[..], "row {i}");
        }
        assert_eq!(both.of(6), &[2, 4]);
        // A free end: every node may end the path.
        let free = Neighbors::from_matrix(&m, 3).with_dummy(&[3]);
        for i in 0..6u32 {
            assert_eq!(free.of(i)[0], 6, "row {i}");
            assert_eq!(&free.of(i)[1..], plain.of(i), "row {i}");
        }
        assert_eq!(free.of(6), &[3, 0, 1, 2, 4, 5]);
    }

    #[test]
    fn matrix_lists_equal_a_plain_sort_of_each_row() {
        let mut rng = fastrand::Rng::with_seed(4);
        for n in [1, 2, 5, 12, 40, 300] {
            // Points on a coarse grid: many equal distances and some coincident
            // points, so ties (broken by index) are tested too.
            let pts: Vec<[f64; 2]> = (0..n).map(|_| [rng.u8(..6) as f64, rng.u8(..6) as f64]).collect();
            let m = DistMatrix::scalar(Metric::Euclidean, &pts);
            for k in [0, 3, 10] {
                let nb = Neighbors::from_matrix(&m, k);
                for i in 0..n {
                    let row = m.row(i);
                    let mut plain: Vec<u32> = (0..n as u32).filter(|&j| j as usize != i).collect();
                    plain.sort_by(|&a, &b| row[a as usize].total_cmp(&row[b as usize]).then(a.cmp(&b)));
                    plain.truncate(k);
                    assert_eq!(nb.of(i as u32), &plain[..], "n {n}, k {k}, row {i}");
                }
            }
        }
    }

    #[test]
    fn kd_tree_lists_equal_matrix_lists() {
        let mut rng = fastrand::Rng::with_seed(2);
        for metric in [Metric::Haversine, Metric::Euclidean] {
            let pts: Vec<[f64; 2]> = (0..300).map(|_| [rng.f64() * 60.0 - 30.0, rng.f64() * 60.0]).collect();
            let m = DistMatrix::scalar(metric, &pts);
            let a = Neighbors::from_matrix(&m, 8);
            let b = Neighbors::from_points(&PointDist::new(metric, &pts), 8, 0, None);
            for i in 0..300 {
                assert_eq!(a.of(i), b.of(i), "node {i}");
            }
        }
    }

    #[test]
    fn quadrant_lists_hold_the_nearest_of_each_quadrant() {
        // Two far clusters: the lists of the nodes facing the other cluster
        // must reach into it, which the 10 nearest alone never do.
        let mut rng = fastrand::Rng::with_seed(3);
        let mut pts: Vec<[f64; 2]> = (0..300).map(|_| [rng.f64() * 10.0, rng.f64() * 10.0]).collect();
        pts.extend((0..300).map(|_| [rng.f64() * 10.0, 60.0 + rng.f64() * 10.0]));
        for metric in [Metric::Euclidean, Metric::Haversine] {
            let d = PointDist::new(metric, &pts);
            let nb = Neighbors::from_points(&d, 10, 1, None);
            let plain = Neighbors::from_points(&d, 10, 0, None);
            let across = |lists: &Neighbors| {
                (0..600u32).filter(|&i| lists.of(i).iter().any(|&j| (i < 300) != (j < 300))).count()
            };
            assert_eq!(across(&plain), 0, "{metric:?}");
            assert!(across(&nb) > 0, "{metric:?}");
            for i in 0..600u32 {
                let list = nb.of(i);
                // The 10 nearest and at most one more a quadrant, sorted by distance.
                assert!((10..=14).contains(&list.len()), "{metric:?} node {i}: {list:?}");
                assert!(plain.of(i).iter().all(|j| list.contains(j)), "{metric:?} node {i}");
                assert!(list.windows(2).all(|w| d.d(i as usize, w[0] as usize) <= d.d(i as usize, w[1] as usize)));
                // By brute force: each quadrant's nearest point, where it is
                // among the 640 nearest, is in the list.
                let frame = tangent_frame(metric == Metric::Haversine, d.embedding()[i as usize]);
                let mut by_dist: Vec<u32> = (0..600u32).filter(|&j| j != i).collect();
                by_dist.sort_by(|&a, &b| d.d(i as usize, a as usize).total_cmp(&d.d(i as usize, b as usize)));
                for q in 0..4 {
                    let first = by_dist.iter().take(640).find(|&&j| {
                        let v = sub(d.embedding()[j as usize], d.embedding()[i as usize]);
                        quadrant_of(v, frame) == q
                    });
                    if let Some(j) = first {
                        assert!(list.contains(j), "{metric:?} node {i} quadrant {q}: {j} missing from {list:?}");
                    }
                }
            }
        }
    }

    /// On points along a line of the plane, two quadrants of every node hold
    /// nothing, and no node searches its widest for them: every node did.
    #[test]
    fn points_along_a_line_never_search_their_widest() {
        let mut rng = fastrand::Rng::with_seed(5);
        let n = 2000;
        let mut along = |f: &dyn Fn(f64) -> [f64; 2]| -> Vec<[f64; 2]> { (0..n).map(|_| f(rng.f64())).collect() };
        // (points, the coordinate that varies)
        let cases = [
            (along(&|t| [t * 1e4, 7.0]), 0),
            (along(&|t| [-3.0, t * 1e4]), 1),
            (along(&|t| [t * 1e4, 2.0 * t * 1e4]), 0),
        ];
        let metric = Metric::Euclidean;
        for (pts, axis) in cases {
            let (nb, widened) = Neighbors::from_points_counted(&PointDist::new(metric, &pts), 10, 1, None);
            assert_eq!(widened, Widened::default(), "{:?}", &pts[..2]);
            // Each list: the 10 nearest, and the nearest on each side.
            for (i, p) in pts.iter().enumerate() {
                let list = nb.of(i as u32);
                let t = |j: usize| pts[j][axis];
                let side = |before: bool| {
                    (0..n)
                        .filter(|&j| if before { t(j) < p[axis] } else { t(j) > p[axis] })
                        .min_by(|&a, &b| (t(a) - p[axis]).abs().total_cmp(&(t(b) - p[axis]).abs()))
                };
                assert!((10..=12).contains(&list.len()), "{metric:?} node {i}: {list:?}");
                for j in [side(true), side(false)].into_iter().flatten() {
                    assert!(list.contains(&(j as u32)), "{metric:?} node {i}: {j} missing from {list:?}");
                }
            }
        }
    }

    /// On a circle the inside quadrant of most nodes holds only points
    /// across it, which most nodes search their widest for. Once the time to
    /// widen has passed, none does, and each list is its K nearest; a time
    /// that has not come changes nothing.
    #[test]
    fn no_node_widens_its_search_once_its_time_has_passed() {
        let n = 2000;
        let pts: Vec<[f64; 2]> = (0..n).map(|i| (i as f64 * 0.7).sin_cos()).map(|(s, c)| [1e4 * c, 1e4 * s]).collect();
        let d = PointDist::new(Metric::Euclidean, &pts);
        let (free, widened) = Neighbors::from_points_counted(&d, 10, 1, None);
        assert!(widened.widest > n / 2 && widened.cut == 0, "{widened:?}");
        let later = Instant::now() + std::time::Duration::from_secs(3600);
        let (same, widened_same) = Neighbors::from_points_counted(&d, 10, 1, Some(later));
        assert_eq!(widened_same, widened);
        let (cut, widened_cut) = Neighbors::from_points_counted(&d, 10, 1, Some(Instant::now()));
        assert!(widened_cut.widest == 0 && widened_cut.cut > n / 2, "{widened_cut:?}");
        let plain = Neighbors::from_points(&d, 10, 0, None);
        for i in 0..n as u32 {
            assert_eq!(same.of(i), free.of(i), "node {i}");
            assert_eq!(cut.of(i), plain.of(i), "node {i}");
        }
        assert!((0..n as u32).any(|i| free.of(i) != plain.of(i)), "quadrant neighbours were added");
    }

    /// The sweep against every pair, on a coarse grid: ties in x and in y,
    /// and copies of a point (north-east of each other).
    #[test]
    fn occupied_quadrants_are_those_holding_another_point() {
        let mut rng = fastrand::Rng::with_seed(6);
        for n in [1, 2, 3, 10, 200] {
            let pts: Vec<[f64; 3]> = (0..n).map(|_| [rng.u8(..5) as f64, rng.u8(..5) as f64, 0.0]).collect();
            let occupied = occupied_quadrants(&pts);
            for (i, p) in pts.iter().enumerate() {
                let mut expect = [false; 4];
                for (_, q) in pts.iter().enumerate().filter(|&(j, _)| j != i) {
                    expect[quadrant_of(sub(*q, *p), [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])] = true;
                }
                assert_eq!(occupied[i], expect, "n {n}, point {i} {p:?}");
            }
        }
    }

    /// Prim's tree against Kruskal's (its total length), and each node's
    /// longest edges on the tree's paths against a walk of the tree.
    #[test]
    fn the_spanning_tree_is_minimal_and_its_path_maxima_exact() {
        let mut rng = fastrand::Rng::with_seed(31);
        for n in [2usize, 3, 7, 40, 120] {
            let pts: Vec<[f64; 2]> = (0..n).map(|_| [rng.f64() * 100.0, rng.f64() * 100.0]).collect();
            let m = DistMatrix::scalar(Metric::Euclidean, &pts);
            let tree = SpanningTree::of(&m);
            let mut seen = vec![false; n];
            assert_eq!(tree.order.len(), n);
            for (k, &u) in tree.order.iter().enumerate() {
                let u = u as usize;
                assert!(!seen[u], "n {n}: {u} taken twice");
                if k > 0 {
                    let p = tree.parent[u] as usize;
                    assert!(seen[p], "n {n}: {u} comes before its parent");
                    assert_eq!(tree.edge[u], m.get(u, p), "n {n}: the edge from {u} to its parent");
                }
                seen[u] = true;
            }
            // Kruskal over every pair, union-find by walking to the root.
            let mut edges: Vec<(f32, usize, usize)> =
                (0..n).flat_map(|i| (i + 1..n).map(move |j| (i, j))).map(|(i, j)| (m.get(i, j), i, j)).collect();
            edges.sort_by(|a, b| a.0.total_cmp(&b.0));
            let mut up: Vec<usize> = (0..n).collect();
            let root = |up: &[usize], mut x: usize| {
                while up[x] != x {
                    x = up[x];
                }
                x
            };
            let mut kruskal = 0f64;
            for (w, i, j) in edges {
                let (a, b) = (root(&up, i), root(&up, j));
                if a != b {
                    up[a] = b;
                    kruskal += f64::from(w);
                }
            }
            let prim: f64 = tree.edge.iter().map(|&w| f64::from(w)).sum();
            assert!((prim - kruskal).abs() <= 1e-9 * kruskal.max(1.0), "n {n}: {prim} against {kruskal}");
            // The tree's paths by a walk over its edges.
            let mut adj = vec![Vec::new(); n];
            for &u in &tree.order[1..] {
                let (u, p, w) = (u as usize, tree.parent[u as usize] as usize, tree.edge[u as usize]);
                adj[u].push((p, w));
                adj[p].push((u, w));
            }
            let (mut beta, mut mark) = (vec![0f32; n], vec![u32::MAX; n]);
            for i in 0..n {
                tree.longest_edges_from(i as u32, &mut beta, &mut mark);
                let mut walk = vec![f32::NAN; n];
                walk[i] = 0.0;
                let mut stack = vec![i];
                while let Some(u) = stack.pop() {
                    for &(v, w) in &adj[u] {
                        if walk[v].is_nan() {
                            walk[v] = walk[u].max(w);
                            stack.push(v);
                        }
                    }
                }
                assert_eq!(beta, walk, "n {n}, from {i}");
            }
        }
    }

    /// Clusters of 12 points, 10 nearest: no list leaves its cluster. The
    /// alpha candidates give every node some candidate in another cluster,
    /// and keep the lists whole, ordered and free of repeats.
    #[test]
    fn spanning_candidates_leave_clusters_larger_than_the_lists() {
        let mut rng = fastrand::Rng::with_seed(32);
        let centres: Vec<[f64; 2]> = (0..6).map(|_| [rng.f64() * 1000.0, rng.f64() * 1000.0]).collect();
        let pts: Vec<[f64; 2]> = centres
            .iter()
            .flat_map(|c| (0..12).map(|_| [c[0] + rng.f64(), c[1] + rng.f64()]).collect::<Vec<_>>())
            .collect();
        let m = DistMatrix::scalar(Metric::Euclidean, &pts);
        let plain = Neighbors::from_matrix(&m, 10);
        let cluster = |i: u32| i as usize / 12;
        assert!((0..72).all(|i| plain.of(i).iter().all(|&j| cluster(j) == cluster(i))), "a list left its cluster");
        let more = Neighbors::from_matrix(&m, 10).with_spanning_candidates(&m, 3);
        for i in 0..72u32 {
            let row = more.of(i);
            assert_eq!(row.len(), 13, "node {i}");
            assert!(plain.of(i).iter().all(|j| row.contains(j)), "node {i} lost a nearest candidate");
            assert!(!row.contains(&i), "node {i} lists itself");
            let key = |&j: &u32| (m.get(i as usize, j as usize), j);
            assert!(row.windows(2).all(|w| key(&w[0]) < key(&w[1])), "node {i}: {row:?} not in order, or repeated");
            assert!(row.iter().any(|&j| cluster(j) != cluster(i)), "node {i}: {row:?} stays in its cluster");
        }
    }

    /// Where the nearest already hold the tree's edges the lists are kept
    /// as they are: uniform points, and lists that hold every node.
    #[test]
    fn spanning_candidates_change_nothing_where_the_tree_is_listed() {
        let mut rng = fastrand::Rng::with_seed(33);
        for n in [5usize, 11, 50, 300] {
            let pts: Vec<[f64; 2]> = (0..n).map(|_| [rng.f64() * 1000.0, rng.f64() * 1000.0]).collect();
            let m = DistMatrix::scalar(Metric::Euclidean, &pts);
            let (plain, more) =
                (Neighbors::from_matrix(&m, 10), Neighbors::from_matrix(&m, 10).with_spanning_candidates(&m, 3));
            assert_eq!((plain.offs, plain.list), (more.offs, more.list), "n {n}");
        }
    }
}
