//! `shaders/two_opt_large.wgsl`: 2-opt descent of one large tour, the n·K
//! neighbour-list moves evaluated at once on the GPU.
//!
//! Each pass uploads the tour, the GPU proposes each node's best move, and
//! the host keeps those that gain in f64 by the exact metric, takes them
//! best first as long as they do not cross one taken before (so they stay
//! valid together, see [`choose`]) and applies them. The tour is only ever changed on
//! the host, by checked moves: whatever the GPU does, it stays a permutation
//! and never gets longer, and a failure mid-descent leaves a usable tour.

use super::{bind, module, pipeline, upload, vec4s, Gpu, GpuError, EPS_REL, GRID_X};
use crate::matrix::split;
use crate::metric::Metric;
use crate::solver::{neighbors::Neighbors, Dist};
use bytemuck::{Pod, Zeroable};
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The host applies a move only when its f64 gain exceeds this.
const EPS: f64 = 1e-7;
const WG: u32 = 256;

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    n: u32,
    k: u32,
    eps_rel: f32,
    width: u32,
}

/// A proposed 2-opt move: remove the tour edges at positions `i` and `j`
/// (`i < j`; edge p joins `tour[p]` and `tour[p + 1 mod n]`), reverse
/// `tour[i + 1 ..= j]`: see [`crate::solver::reference::best_list_2opt_moves`].
/// `gain` is the GPU's f32 estimate; `node` the node whose best move it is.
#[repr(C)]
#[derive(Clone, Copy, Debug, Pod, Zeroable, PartialEq)]
pub struct Proposal {
    pub gain: f32,
    pub i: u32,
    pub j: u32,
    pub node: u32,
}

pub(super) struct Kernels {
    layout: wgpu::BindGroupLayout,
    positions: wgpu::ComputePipeline,
    evaluate: wgpu::ComputePipeline,
}

impl Kernels {
    pub(super) fn new(device: &wgpu::Device) -> Kernels {
        let m = module(device, "two_opt_large.wgsl", include_str!("../../shaders/two_opt_large.wgsl"));
        let (layout, mut p) = pipeline(device, &m, &["positions", "evaluate"], 8, &[5, 6, 7]);
        let evaluate = p.remove(1);
        Kernels { layout, positions: p.remove(0), evaluate }
    }
}

/// When a descent stops (besides a pass with nothing to apply).
#[derive(Clone, Copy, Debug)]
pub struct Until<'a> {
    /// A pass that applies fewer moves than this is the last: the tail of a
    /// descent, a few moves per pass, is cheaper for the CPU's local search.
    pub min_moves: usize,
    pub deadline: Option<Instant>,
    /// Set (Ctrl-C) to stop before the next pass.
    pub cancel: Option<&'a AtomicBool>,
}

/// What a descent did.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Descent {
    pub passes: u32,
    /// Moves the GPU proposed, and those applied, over all passes.
    pub proposed: u64,
    pub applied: u64,
    /// Total f64 gain of the applied moves.
    pub gain: f64,
    /// Time on the host checking, choosing and applying moves: what a
    /// descent costs besides the device's passes and the transfers.
    pub host: Duration,
}

/// The device-side copy of one instance.
struct Uploaded {
    n: usize,
    tour: wgpu::Buffer,
    moves: wgpu::Buffer,
    count: wgpu::Buffer,
    group: wgpu::BindGroup,
    grid: (u32, u32),
}

impl Gpu {
    /// 2-opt over `neighbors` from `tour` (a closed tour, a permutation of
    /// the points), pass after pass until a pass applies fewer than
    /// `until.min_moves` moves (none left, with 1), or the deadline has passed
    /// or the cancel flag is set (checked before each pass).
    /// `d` is the exact metric of `points`, which decides every move.
    /// On error `tour` holds the moves applied so far.
    pub fn two_opt_descent<D: Dist>(
        &self,
        d: &D,
        metric: Metric,
        points: &[[f64; 2]],
        neighbors: &Neighbors,
        tour: &mut [u32],
        until: Until,
    ) -> Result<Descent, GpuError> {
        let up = self.upload_large(metric, points, neighbors)?;
        let mut done = Descent::default();
        while until.deadline.is_none_or(|t| Instant::now() < t)
            && !until.cancel.is_some_and(|c| c.load(Ordering::Relaxed))
        {
            let proposals = self.propose(&up, tour, until.deadline)?;
            let t = Instant::now();
            let chosen = choose(d, tour, &proposals);
            done.passes += 1;
            done.proposed += proposals.len() as u64;
            done.applied += chosen.len() as u64;
            tracing::trace!(pass = done.passes, proposed = proposals.len(), applied = chosen.len(), "GPU 2-opt pass");
            for &(i, j, gain) in &chosen {
                tour[i + 1..=j].reverse();
                done.gain += gain;
            }
            done.host += t.elapsed();
            if chosen.is_empty() || chosen.len() < until.min_moves {
                break;
            }
        }
        Ok(done)
    }

    /// The moves the GPU proposes for `tour`, at most one per node, in no
    /// particular order (tests compare them with the CPU reference).
    pub fn two_opt_proposals(
        &self,
        metric: Metric,
        points: &[[f64; 2]],
        neighbors: &Neighbors,
        tour: &[u32],
    ) -> Result<Vec<Proposal>, GpuError> {
        let up = self.upload_large(metric, points, neighbors)?;
        self.propose(&up, tour, None)
    }

    fn upload_large(&self, metric: Metric, points: &[[f64; 2]], neighbors: &Neighbors) -> Result<Uploaded, GpuError> {
        let n = points.len();
        if n < 5 {
            return Err(GpuError::Unsupported(format!("{n} points (the large-tour 2-opt takes at least 5)")));
        }
        let k = (0..n as u32).map(|i| neighbors.of(i).len()).max().unwrap_or(0);
        if k == 0 || (0..n as u32).any(|i| neighbors.of(i).is_empty()) {
            return Err(GpuError::Unsupported("an empty neighbour list".into()));
        }
        let largest = (n * k * 4).max(n * 16) as u64;
        if largest > self.limits.max_storage_buffer_binding_size || n > u32::MAX as usize / 2 {
            return Err(GpuError::Unsupported(format!(
                "{n} points with {k} neighbours each ({largest} bytes in one binding; the device binds {})",
                self.limits.max_storage_buffer_binding_size
            )));
        }
        let (_, hi, lo) = split(metric, points);
        let lists: Vec<u32> = (0..n as u32).into_par_iter().flat_map_iter(|i| neighbors.padded(i, k)).collect();
        let groups = (n as u32).div_ceil(WG);
        let grid = (groups.min(GRID_X), groups.div_ceil(GRID_X));
        let params = Params { n: n as u32, k: k as u32, eps_rel: EPS_REL, width: grid.0 * WG };
        self.checked(|| {
            let d = &self.device;
            let storage = wgpu::BufferUsages::STORAGE;
            let buffer = |label, size: usize, usage| {
                d.create_buffer(&wgpu::BufferDescriptor {
                    label: Some(label),
                    size: size as u64,
                    usage,
                    mapped_at_creation: false,
                })
            };
            let params = upload(d, "params", bytemuck::bytes_of(&params), wgpu::BufferUsages::UNIFORM);
            let hi = upload(d, "hi", bytemuck::cast_slice(&vec4s(&hi)), storage);
            let lo = upload(d, "lo", bytemuck::cast_slice(&vec4s(&lo)), storage);
            let lists = upload(d, "neighbors", bytemuck::cast_slice(&lists), storage);
            let tour = buffer("tour", n * 4, storage | wgpu::BufferUsages::COPY_DST);
            let pos = buffer("pos", n * 4, storage);
            let moves = buffer("moves", n * size_of::<Proposal>(), storage | wgpu::BufferUsages::COPY_SRC);
            let count = buffer("count", 4, storage | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST);
            let buffers = [&params, &hi, &lo, &lists, &tour, &pos, &moves, &count];
            let group = bind(d, "large tour", &self.large.layout, &buffers);
            Ok(Uploaded { n, tour, moves, count, group, grid })
        })
    }

    /// One pass on the device: positions from `tour`, then every node's best
    /// move; a pass still running 2 s past `by` counts as a failure.
    fn propose(&self, up: &Uploaded, tour: &[u32], by: Option<Instant>) -> Result<Vec<Proposal>, GpuError> {
        if tour.len() != up.n {
            return Err(GpuError::Unsupported(format!("a tour of {} nodes for {} points", tour.len(), up.n)));
        }
        self.checked(|| {
            self.queue.write_buffer(&up.tour, 0, bytemuck::cast_slice(tour));
            self.queue.write_buffer(&up.count, 0, &[0; 4]);
            let mut encoder = self.device.create_command_encoder(&Default::default());
            {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                pass.set_bind_group(0, &up.group, &[]);
                for p in [&self.large.positions, &self.large.evaluate] {
                    pass.set_pipeline(p);
                    pass.dispatch_workgroups(up.grid.0, up.grid.1, 1);
                }
            }
            self.queue.submit([encoder.finish()]);
            let count: u32 = bytemuck::pod_read_unaligned(&self.read(&up.count, 0, 4, by)?);
            if count as usize > up.n {
                return Err(GpuError::Failed(format!("the GPU proposed {count} moves for {} nodes", up.n)));
            }
            if count == 0 {
                return Ok(Vec::new());
            }
            let bytes = self.read(&up.moves, 0, count as u64 * size_of::<Proposal>() as u64, by)?;
            Ok(bytemuck::pod_collect_to_vec(&bytes))
        })
    }
}

/// The proposals that gain in f64 by `d` (a proposal that is not a move of
/// this tour is dropped), best first, each kept when it is compatible with
/// all kept before, in the order to apply them.
///
/// Two moves are compatible when they share no edge and their stretches of
/// edge positions `i..=j` are disjoint or nested: a move inside another's
/// reversed stretch removes two edges that the outer move only turns round,
/// and its reconnection is the same after that. Applied inner first (the
/// order returned: shortest stretch first), each move gains what it did on
/// the tour the GPU saw, so the tour shortens by the sum of their gains.
/// Only crossing moves are left to the next pass.
fn choose<D: Dist>(d: &D, tour: &[u32], proposals: &[Proposal]) -> Vec<(usize, usize, f64)> {
    let n = tour.len();
    let mut moves: Vec<(usize, usize, f64)> = proposals
        .par_iter()
        .filter_map(|p| {
            let (i, j) = (p.i as usize, p.j as usize);
            if i >= j || j >= n || (i == 0 && j == n - 1) {
                return None;
            }
            let (a, b, c, e) = (tour[i] as usize, tour[i + 1] as usize, tour[j] as usize, tour[(j + 1) % n] as usize);
            let gain = d.d(a, b) + d.d(c, e) - d.d(a, c) - d.d(b, e);
            (gain > EPS).then_some((i, j, gain))
        })
        .collect();
    moves.par_sort_unstable_by(|x, y| y.2.total_cmp(&x.2).then(x.0.cmp(&y.0)).then(x.1.cmp(&y.1)));
    let mut kept = Ends::new(n);
    let mut chosen: Vec<(usize, usize, f64)> = moves.into_iter().filter(|&(i, j, _)| kept.insert(i, j)).collect();
    chosen.sort_unstable_by_key(|&(i, j, _)| (j - i, i));
    chosen
}

/// The end positions of a laminar set of stretches, each end holding its
/// partner, with the smallest and largest partner of every range of
/// positions (a segment tree): a new stretch `i..=j` crosses none when no
/// end inside it has its partner outside.
struct Ends {
    size: usize,
    min: Vec<usize>,
    max: Vec<usize>,
}

impl Ends {
    fn new(n: usize) -> Ends {
        let size = n.next_power_of_two();
        Ends { size, min: vec![usize::MAX; 2 * size], max: vec![0; 2 * size] }
    }

    fn is_end(&self, p: usize) -> bool {
        self.min[self.size + p] != usize::MAX
    }

    /// Smallest and largest partner of the ends at positions `lo..hi`.
    fn partners(&self, lo: usize, hi: usize) -> (usize, usize) {
        let (mut lo, mut hi) = (lo + self.size, hi + self.size);
        let (mut min, mut max) = (usize::MAX, 0);
        while lo < hi {
            if lo & 1 == 1 {
                (min, max) = (min.min(self.min[lo]), max.max(self.max[lo]));
                lo += 1;
            }
            if hi & 1 == 1 {
                hi -= 1;
                (min, max) = (min.min(self.min[hi]), max.max(self.max[hi]));
            }
            (lo, hi) = (lo / 2, hi / 2);
        }
        (min, max)
    }

    fn set(&mut self, p: usize, partner: usize) {
        let mut at = self.size + p;
        (self.min[at], self.max[at]) = (partner, partner);
        while at > 1 {
            at /= 2;
            self.min[at] = self.min[2 * at].min(self.min[2 * at + 1]);
            self.max[at] = self.max[2 * at].max(self.max[2 * at + 1]);
        }
    }

    /// Adds the stretch `i..=j` (`i < j`) when it shares no end with the set
    /// and crosses none of its stretches; returns whether it did.
    fn insert(&mut self, i: usize, j: usize) -> bool {
        if self.is_end(i) || self.is_end(j) {
            return false;
        }
        let (min, max) = self.partners(i + 1, j);
        // No end inside, or every end inside has its partner inside.
        if min != usize::MAX && (min < i || max > j) {
            return false;
        }
        self.set(i, j);
        self.set(j, i);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solver::{local::tour_length, PointDist};

    /// Random proposals on a random tour: the chosen moves are pairwise
    /// disjoint or nested with distinct ends, applied in the returned order
    /// they shorten the tour by the sum of their gains, and every improving
    /// proposal left out conflicts with a chosen one at least as good.
    #[test]
    fn chosen_moves_are_compatible_and_gain_what_they_say() {
        let mut rng = fastrand::Rng::with_seed(7);
        for n in [5usize, 6, 9, 40, 300] {
            let points: Vec<[f64; 2]> = (0..n).map(|_| [rng.f64() * 100.0, rng.f64() * 100.0]).collect();
            let d = PointDist::new(Metric::Euclidean, &points);
            let mut tour: Vec<u32> = (0..n as u32).collect();
            rng.shuffle(&mut tour);
            let proposals: Vec<Proposal> = (0..3 * n)
                .map(|q| {
                    let (a, b) = (rng.u32(..n as u32), rng.u32(..n as u32));
                    Proposal { gain: 0.0, i: a.min(b), j: a.max(b), node: q as u32 }
                })
                .collect();
            let chosen = choose(&d, &tour, &proposals);
            let compatible = |(i, j): (usize, usize), (k, l): (usize, usize)| {
                let ends_differ = i != k && i != l && j != k && j != l;
                ends_differ && (j < k || l < i || (i < k && l < j) || (k < i && j < l))
            };
            for (x, a) in chosen.iter().enumerate() {
                for b in &chosen[x + 1..] {
                    assert!(compatible((a.0, a.1), (b.0, b.1)), "n={n}: {a:?} and {b:?}");
                }
            }
            let gain_of = |p: &Proposal| {
                let (i, j) = (p.i as usize, p.j as usize);
                let t = |k: usize| tour[k % n] as usize;
                d.d(t(i), t(i + 1)) + d.d(t(j), t(j + 1)) - d.d(t(i), t(j)) - d.d(t(i + 1), t(j + 1))
            };
            for p in &proposals {
                let (i, j) = (p.i as usize, p.j as usize);
                let improving = i < j && !(i == 0 && j == n - 1) && gain_of(p) > EPS;
                if improving && !chosen.iter().any(|c| (c.0, c.1) == (i, j)) {
                    assert!(
                        chosen.iter().any(|c| !compatible((i, j), (c.0, c.1)) && c.2 >= gain_of(p)),
                        "n={n}: ({i}, {j}) left out for nothing"
                    );
                }
            }
            let before = tour_length(&d, &tour);
            for &(i, j, _) in &chosen {
                tour[i + 1..=j].reverse();
            }
            let gained: f64 = chosen.iter().map(|c| c.2).sum();
            assert!((before - gained - tour_length(&d, &tour)).abs() < 1e-9 * before, "n={n}");
            let mut sorted = tour.clone();
            sorted.sort_unstable();
            assert!(sorted.iter().enumerate().all(|(k, &c)| c as usize == k));
        }
    }
}
