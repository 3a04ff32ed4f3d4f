//! The engine: `Problem`s in, `Solution`s out, one backend chosen per process.
//!
//! By size: Held–Karp for n ≤ 12 (proved optimal); a full f32 matrix up to
//! [`MATRIX_MAX_N`]; above it distances on the fly from the points. Every
//! heuristic solve is greedy edge → 3-opt (LK depth 3) + Or-opt → iterated
//! local search (see [`local`]). Open paths become tours through a dummy node whose edges to the
//! fixed ends are pinned. Reported lengths are recomputed in f64 by the
//! scalar metric, whatever the search used.
//!
//! With a GPU ([`crate::gpu`]), batches of small round trips go to the
//! `two_opt.wgsl` local search; any GPU failure sends that batch back to the
//! CPU with one warning. An engine given a GPU also runs the 2-opt descent
//! of a larger round trip's greedy tour there (`two_opt_large.wgsl`) before
//! the CPU's local search; an automatic engine does so from
//! [`DESCENT_MIN_N`] points on a real GPU, never on a software driver.
//! Matrices stay on the CPU: with the transfer back, `distance.wgsl` took
//! 83 ms for 4000 points on an H100 where 16 cores took 8 ms (BENCHMARKS.md).

mod coincident;
pub mod construct;
pub mod exact;
mod kdtree;
pub mod local;
pub mod neighbors;
pub mod reference;
mod tour;

use crate::gpu::{self, Gpu, SmallInstance, Until, GPU_MAX_N};
use crate::matrix::{simd_backend_name, DistMatrix};
use crate::metric::{chord_km, legs_total, tour_legs, Metric};
use neighbors::Neighbors;
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Largest instance given a full distance matrix (100 MB of f32).
pub const MATRIX_MAX_N: usize = 5000;
/// Candidate neighbours per node.
pub const NEIGHBORS: usize = 10;
/// Candidates by alpha-nearness added to the lists of a matrix's points
/// where the nearest miss edges of the minimum spanning tree (clustered
/// points; see [`Neighbors::with_spanning_candidates`]). On 240 clustered
/// stops in a city, 0.368% above the best known tour on average before,
/// 0.034% with 3 (BENCHMARKS.md, "Clustered stops", with a prototype's 3
/// against 5).
pub const SPANNING_CANDIDATES: usize = 3;
/// Nearest points per quadrant added to the candidates on the matrix-free
/// path (see [`Neighbors::from_points`]). Measured against none at the same
/// time limit: 100,000 clustered points 0.2% shorter at 30 s; usa13509 the
/// same (0.39–0.43% above optimal at 15 s, run to run, either way);
/// pla85900, a drilling grid, 0.56% against 0.50% at 60 s. One a quadrant
/// within the same K (replacing the farthest) did worse on both TSPLIB
/// instances (0.51%, 0.59%).
pub const QUADRANT_NEIGHBORS: usize = 1;
/// The seed used when a request gives none: results are reproducible by default.
pub const DEFAULT_SEED: u64 = 0x5eed;

/// Distances as the search sees them.
pub trait Dist: Sync {
    fn n(&self) -> usize;
    fn d(&self, i: usize, j: usize) -> f64;
}

impl Dist for DistMatrix {
    fn n(&self) -> usize {
        DistMatrix::n(self)
    }
    #[inline(always)]
    fn d(&self, i: usize, j: usize) -> f64 {
        self.get(i, j) as f64
    }
}

/// Distances computed on demand: no n² memory. Haversine goes through unit
/// vectors (one sqrt and one asin a pair, no trigonometry). Also holds every
/// point's [`Metric::embed`]ding, which the k-d trees of the candidate lists
/// and of greedy joining search.
pub struct PointDist<'a> {
    metric: Metric,
    points: &'a [[f64; 2]],
    emb: Vec<[f64; 3]>,
}

impl<'a> PointDist<'a> {
    pub fn new(metric: Metric, points: &'a [[f64; 2]]) -> PointDist<'a> {
        // Whole small instances to one thread: they are solved many at a time.
        let emb = points.par_iter().with_min_len(4096).map(|&p| metric.embed(p)).collect();
        PointDist { metric, points, emb }
    }

    pub fn embedding(&self) -> &[[f64; 3]] {
        &self.emb
    }

    pub fn metric(&self) -> Metric {
        self.metric
    }
}

impl Dist for PointDist<'_> {
    fn n(&self) -> usize {
        self.points.len()
    }
    #[inline(always)]
    fn d(&self, i: usize, j: usize) -> f64 {
        match self.metric {
            Metric::Haversine => chord_km(self.emb[i], self.emb[j]),
            m => m.dist(self.points[i], self.points[j]),
        }
    }
}

/// `inner` plus one node, index `inner.n()`, at distance 0 from everything:
/// a tour through it is an open path through the others.
pub(crate) struct WithDummy<'a, D> {
    pub(crate) inner: &'a D,
}

impl<D: Dist> Dist for WithDummy<'_, D> {
    fn n(&self) -> usize {
        self.inner.n() + 1
    }
    #[inline(always)]
    fn d(&self, i: usize, j: usize) -> f64 {
        let n = self.inner.n();
        if i == n || j == n {
            0.0
        } else {
            self.inner.d(i, j)
        }
    }
}

/// A validated instance.
#[derive(Clone, Debug)]
pub struct Problem {
    pub points: Vec<[f64; 2]>,
    pub metric: Metric,
    /// Closed tour back to `start` (the default) or an open path.
    pub round_trip: bool,
    pub start: usize,
    /// For open paths: the fixed last node, or anywhere.
    pub end: Option<usize>,
    /// This instance's own limit (a request's `time_limit_ms`).
    pub time_limit: Option<Duration>,
    /// This instance's own seed (a request's `seed`).
    pub seed: Option<u64>,
}

impl Problem {
    /// The same settings with no points, for building a variant of it.
    pub fn clone_without_points(&self) -> Problem {
        Problem { points: Vec::new(), ..*self }
    }

    /// A round trip from node 0.
    pub fn round_trip(points: Vec<[f64; 2]>, metric: Metric) -> Problem {
        Problem { points, metric, round_trip: true, start: 0, end: None, time_limit: None, seed: None }
    }
}

/// What a progress callback is told, about every 100 ms of a long solve.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    pub length: f64,
    pub elapsed: Duration,
    pub limit: Option<Duration>,
}

/// Limits shared by every problem of a call.
#[derive(Clone, Default)]
pub struct Budget {
    /// Hard wall-clock end (Lambda's invocation deadline minus a margin).
    pub deadline: Option<Instant>,
    /// Per-problem time limit when the problem has none of its own.
    pub time_limit: Option<Duration>,
    /// Exact number of ILS kicks: with a fixed seed the result is reproducible.
    /// Time limits (the problem's and `time_limit`) are then ignored; the
    /// deadline is not.
    pub kicks: Option<u64>,
    /// Seed for problems without their own ([`DEFAULT_SEED`] when neither).
    pub seed: Option<u64>,
    pub progress: Option<Arc<dyn Fn(Progress) + Send + Sync>>,
    /// Set to end every search early, keeping the best tour so far.
    pub cancel: Option<Arc<AtomicBool>>,
}

impl Budget {
    /// `p`'s time limit: its own, else the call's; none under a kick count,
    /// which is reproducible only if no clock can cut it short (a deadline,
    /// the Lambda invocation's, still can).
    fn time_limit_for(&self, p: &Problem) -> Option<Duration> {
        p.time_limit.or(self.time_limit).filter(|_| self.kicks.is_none())
    }
}

/// The answer to one problem.
#[derive(Clone, Debug)]
pub struct Solution {
    /// Visiting order, starting at `start`, not closed (a round trip returns
    /// to `order[0]`).
    pub order: Vec<usize>,
    /// Reference-metric length, f64.
    pub length: f64,
    pub legs: Vec<f64>,
    /// Proved optimal (exact solver).
    pub optimal: bool,
    pub backend: &'static str,
    pub elapsed: Duration,
    /// ILS kicks run (0 for the exact solver).
    pub kicks: u64,
}

impl Solution {
    /// This solution of `p`'s places ([`coincident::Groups::reduce`]) as one
    /// of `p`, each place's copies visited together, its legs `p`'s.
    fn expanded(self, groups: &coincident::Groups, p: &Problem) -> Solution {
        let order = groups.expand(p, &self.order);
        let legs = tour_legs(p.metric, &p.points, &order, p.round_trip);
        Solution { length: legs_total(&legs), legs, order, ..self }
    }
}

/// Where the work runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The reference: each distance from the f64 formula, one pair at a
    /// time (no SIMD); the search is the same as `Simd`'s.
    Scalar,
    /// `wide` SIMD lanes + rayon.
    Simd,
    /// wgpu compute shaders, with the SIMD CPU path for what they do not take.
    Gpu,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Scalar => "cpu-scalar",
            Backend::Simd => simd_backend_name(),
            Backend::Gpu => "gpu",
        }
    }

    /// `cpu`, `gpu` or `scalar`; empty means automatic (`None`): the GPU
    /// when an adapter exists and a batch is worth it, else the CPU.
    pub fn from_name(name: &str) -> Result<Option<Backend>, String> {
        match name {
            "" | "auto" => Ok(None),
            "cpu" => Ok(Some(Backend::Simd)),
            "scalar" => Ok(Some(Backend::Scalar)),
            "gpu" => Ok(Some(Backend::Gpu)),
            other => Err(format!("backend {other:?}: expected cpu, gpu or scalar")),
        }
    }

    /// `ROUTE_OPTIM_BACKEND`, automatic when unset.
    pub fn from_env() -> Result<Option<Backend>, String> {
        Backend::from_name(&std::env::var("ROUTE_OPTIM_BACKEND").unwrap_or_default())
            .map_err(|e| format!("ROUTE_OPTIM_BACKEND: {e}"))
    }
}

/// Eligible problems in a batch from which an automatic engine probes for
/// and uses the GPU. Measured on an H100 host (BENCHMARKS.md, "GPU"), at
/// default budgets:
/// - 50 and 100 stops: the GPU is faster from 1,024 requests.
/// - 20 stops: the GPU won at 4,096 requests when it was set (68k/s against
///   51k/s on the host's 16 cores). Since the CPU search's kick changes the
///   16 cores do 97k/s there; the threshold stays, since a GPU instance
///   usually has far fewer cores (4 on a g5.xlarge).
///
/// The CPU's tours are closer to the best known (at 4,096 requests of 100
/// stops 99.3% against 79.5%, at 837/s against 3,203/s).
pub const GPU_MIN_BATCH: usize = 4096;
/// Kick rounds per GPU instance when the budget gives neither a count nor a
/// time limit; the search also ends after [`gpu_default_stall`] rounds
/// without a better tour.
pub const GPU_DEFAULT_ROUNDS: u32 = 2000;

/// Rounds without a better tour after which a default-budget GPU search
/// stops: max(30, n²/10), the CPU's rule before its kicks changed. The
/// shader's kicks still swap two stretches of 1 to 50 points. The CPU's
/// double bridge with the CPU's stall rule was measured in the shader on an
/// H100 (BENCHMARKS.md): no better per round at 100 stops and 1.4× the time
/// a round, so at equal rates worse at 50 and 100 stops. Not kept.
pub fn gpu_default_stall(n: usize) -> u32 {
    (n as u64 * n as u64 / 10).clamp(30, u64::from(u32::MAX)) as u32
}

#[derive(Clone)]
enum GpuUse {
    Never,
    /// Probe once ([`gpu::shared`]) when there is work worth it.
    Auto,
    /// This device, for every batch.
    Given(Arc<Gpu>),
}

/// The solver with its backend, built once per process and shared.
#[derive(Clone)]
pub struct Engine {
    /// What the CPU side uses: `Scalar` or `Simd`.
    cpu: Backend,
    gpu: GpuUse,
    /// Largest instance given a full matrix: [`MATRIX_MAX_N`].
    matrix_max_n: usize,
}

impl Engine {
    /// A CPU engine (`Scalar`, `Simd`), or for `Gpu` an automatic one: the
    /// GPU when an adapter exists, else the SIMD CPU path.
    pub fn new(backend: Backend) -> Engine {
        match backend {
            Backend::Gpu => Engine { cpu: Backend::Simd, gpu: GpuUse::Auto, matrix_max_n: MATRIX_MAX_N },
            b => Engine { cpu: b, gpu: GpuUse::Never, matrix_max_n: MATRIX_MAX_N },
        }
    }

    /// An engine that sends every eligible batch to `gpu`.
    pub fn with_gpu(gpu: Arc<Gpu>) -> Engine {
        Engine { cpu: Backend::Simd, gpu: GpuUse::Given(gpu), matrix_max_n: MATRIX_MAX_N }
    }

    /// The same engine with another size limit for the full matrix: instances
    /// above it take the matrix-free path. For comparing the two paths on
    /// one instance (tests, benchmarks).
    pub fn with_matrix_max_n(self, n: usize) -> Engine {
        Engine { matrix_max_n: n, ..self }
    }

    /// The engine for a backend choice ([`Backend::from_name`]): `None` is
    /// automatic; `Some(Gpu)` requires an adapter.
    pub fn choose(choice: Option<Backend>) -> Result<Engine, gpu::GpuError> {
        match choice {
            None => Ok(Engine::new(Backend::Gpu)),
            Some(Backend::Gpu) => Ok(Engine::with_gpu(Arc::new(Gpu::probe()?))),
            Some(b) => Ok(Engine::new(b)),
        }
    }

    /// What the engine runs on: `Gpu` once it has a device.
    pub fn backend(&self) -> Backend {
        match self.gpu {
            GpuUse::Given(_) => Backend::Gpu,
            _ => self.cpu,
        }
    }

    /// The device this engine would use for `work` eligible problems. An
    /// automatic engine uses a graphics card only ([`gpu::shared`]), never a
    /// software driver: on a 2-core CI machine 4,096 requests of 20 stops
    /// took 38.6 s on lavapipe against 0.27 s on the CPU.
    pub fn gpu_for(&self, work: usize) -> Option<Arc<Gpu>> {
        match &self.gpu {
            GpuUse::Never => None,
            GpuUse::Given(g) => Some(Arc::clone(g)),
            GpuUse::Auto => (work >= GPU_MIN_BATCH).then(gpu::shared).flatten(),
        }
    }

    /// Solves many problems in parallel (rayon; small round trips on the GPU
    /// when there is one), outputs in input order.
    pub fn solve_batch(&self, problems: &[Problem], budget: &Budget) -> Vec<Solution> {
        let on_gpu = self.gpu_batch(problems, budget);
        problems.par_iter().zip(on_gpu).map(|(p, g)| g.unwrap_or_else(|| self.solve(p, budget))).collect()
    }

    /// [`Engine::solve_batch`] for stream front ends: a problem whose solve
    /// panics (a bug) yields `Err` with the panic's message, and the rest of
    /// the batch is still answered.
    pub fn solve_batch_isolated(&self, problems: &[Problem], budget: &Budget) -> Vec<Result<Solution, String>> {
        let on_gpu = catch(|| self.gpu_batch(problems, budget)).unwrap_or_else(|e| {
            tracing::warn!("GPU batch panicked ({e}); solving it on the CPU");
            vec![None; problems.len()]
        });
        problems
            .par_iter()
            .zip(on_gpu)
            .map(|(p, g)| match g {
                Some(s) => Ok(s),
                None => catch(|| self.solve(p, budget)),
            })
            .collect()
    }

    /// The problems of the batch the GPU solved (`None` for the rest): small
    /// round trips under haversine or euclidean, when there is a device and
    /// enough of them. A GPU failure leaves them all to the CPU.
    fn gpu_batch(&self, problems: &[Problem], budget: &Budget) -> Vec<Option<Solution>> {
        let mut out = vec![None; problems.len()];
        if matches!(self.gpu, GpuUse::Never) || budget.cancel.as_ref().is_some_and(|c| c.load(Ordering::Relaxed)) {
            return out;
        }
        // The cheap test first: an automatic engine stops here on small batches.
        let shaped: Vec<usize> = (0..problems.len()).filter(|&i| gpu_shaped(&problems[i])).collect();
        let Some(gpu) = self.gpu_for(shaped.len()).filter(|_| !shaped.is_empty()) else {
            return out;
        };
        // Copies of a place are one node, as on the CPU (`Engine::solve`;
        // exact under both metrics): the GPU searches the places, and a
        // problem of 12 places or fewer is left to the CPU's exact solver.
        let eligible: Vec<(usize, Option<(coincident::Groups, Problem)>)> = shaped
            .into_par_iter()
            .filter_map(|i| match coincident::Groups::find(&problems[i].points, problems[i].metric) {
                None => Some((i, None)),
                Some(groups) => {
                    let places = groups.reduce(&problems[i]);
                    (places.points.len() > exact::EXACT_MAX_N).then_some((i, Some((groups, places))))
                }
            })
            .collect();
        for metric in [Metric::Haversine, Metric::Euclidean] {
            let batch: Vec<_> = eligible.iter().filter(|(i, _)| problems[*i].metric == metric).collect();
            if batch.is_empty() {
                continue;
            }
            let searched: Vec<&Problem> =
                batch.iter().map(|(i, merged)| merged.as_ref().map_or(&problems[*i], |(_, places)| places)).collect();
            match solve_on_gpu(&gpu, &searched, budget) {
                Ok(solutions) => {
                    for ((i, merged), s) in batch.into_iter().zip(solutions) {
                        out[*i] = Some(match merged {
                            None => s,
                            Some((groups, _)) => s.expanded(groups, &problems[*i]),
                        });
                    }
                }
                Err(e) => tracing::warn!("GPU batch of {} failed, solving it on the CPU: {e}", batch.len()),
            }
        }
        out
    }

    /// Solves one problem. A path whose `end` equals its `start` is solved
    /// as the round trip it is.
    pub fn solve(&self, p: &Problem, budget: &Budget) -> Solution {
        let t0 = Instant::now();
        let closed;
        let p = if !p.round_trip && p.end.is_some() && p.end == Some(p.start) && p.points.len() > 1 {
            closed = Problem { round_trip: true, end: None, points: p.points.clone(), ..p.clone_without_points() };
            &closed
        } else {
            p
        };
        // Searched on points spread wide enough for f32; measured on the given ones.
        let scaled = planar_scaled(p);
        let (q, unit) = scaled.as_ref().map_or((p, 1.0), |(q, unit)| (q, *unit));
        let found = match coincident::Groups::find(&q.points, q.metric) {
            None => self.search(q, budget, t0, unit, None),
            Some(groups) if q.metric.copies_merge_exactly() => {
                let found = self.search(&groups.reduce(q), budget, t0, unit, None);
                Found { order: groups.expand(q, &found.order), ..found }
            }
            // Copies that a shortest tour may part: solved exactly as they
            // are where that is small enough; else the merged problem's tour,
            // then a descent with every copy a node of its own. (Searched
            // unmerged from the start, 200 points written 10 times each
            // came out 15% longer: their candidate lists hold only copies.)
            Some(_) if q.points.len() <= exact::EXACT_MAX_N => self.search(q, budget, t0, unit, None),
            Some(groups) => {
                let found = self.search(&groups.reduce(q), budget, t0, unit, None);
                let merged = groups.expand(q, &found.order);
                // Within the search's time, and cancelled with it.
                let end = budget.time_limit_for(q).and_then(|l| t0.checked_add(l));
                let descent = Budget {
                    kicks: Some(0),
                    deadline: earliest(end, budget.deadline),
                    cancel: budget.cancel.clone(),
                    ..Budget::default()
                };
                let parted = self.search(q, &descent, t0, unit, Some(&merged));
                Found { optimal: false, kicks: found.kicks, backend: found.backend, ..parted }
            }
        };
        let legs = tour_legs(p.metric, &p.points, &found.order, p.round_trip);
        Solution {
            length: legs_total(&legs),
            legs,
            order: found.order,
            optimal: found.optimal,
            backend: found.backend,
            elapsed: t0.elapsed(),
            kicks: found.kicks,
        }
    }

    /// By size: exact, matrix, or matrix-free. `unit`: the length of a unit
    /// of `p`'s points in the request's (progress reports are in those).
    /// `from`: a start tour (from `p.start`, and for a path to its end),
    /// searched from instead of the greedy one, heuristically at any size.
    fn search(&self, p: &Problem, budget: &Budget, t0: Instant, unit: f64, from: Option<&[usize]>) -> Found {
        let n = p.points.len();
        if n <= exact::EXACT_MAX_N && from.is_none() {
            let d = PointDist::new(p.metric, &p.points);
            let (order, _) = exact::held_karp(n, |i, j| d.d(i, j), p.start, p.end, p.round_trip);
            return Found { order, optimal: true, kicks: 0, backend: self.cpu.name() };
        }
        let with_matrix = n <= self.matrix_max_n;
        let limits = Limits { unit, ..Limits::new(p, budget, t0, with_matrix) };
        let d = PointDist::new(p.metric, &p.points);
        // The large-tour 2-opt only where the batch shader does not reach;
        // an automatic engine only from DESCENT_MIN_N points, on a real GPU.
        let shared;
        let gpu = match &self.gpu {
            GpuUse::Given(g) if p.round_trip && n > GPU_MAX_N => Some(&**g),
            GpuUse::Auto if p.round_trip && n >= DESCENT_MIN_N => {
                shared = gpu::shared();
                shared.as_deref()
            }
            _ => None,
        };
        let search = Heuristic { emb: d.embedding(), p, limits: &limits, gpu, from };
        let (order, kicks, on_gpu) = if with_matrix {
            let m = match self.cpu {
                Backend::Scalar => DistMatrix::scalar(p.metric, &p.points),
                _ => DistMatrix::simd(p.metric, &p.points),
            };
            let nb = Neighbors::from_matrix(&m, NEIGHBORS).with_spanning_candidates(&m, SPANNING_CANDIDATES);
            search.run(&m, nb)
        } else {
            // Half the time left may go to widening the lists' search for
            // quadrant neighbours; the rest is the search's.
            let now = Instant::now();
            let widen_until = limits.deadline.map(|dl| now + dl.saturating_duration_since(now) / 2);
            search.run(&d, Neighbors::from_points(&d, NEIGHBORS, QUADRANT_NEIGHBORS, widen_until))
        };
        let backend = if on_gpu { gpu.map_or(self.cpu.name(), Gpu::name) } else { self.cpu.name() };
        Found { order, optimal: false, kicks, backend }
    }
}

/// What one search found.
struct Found {
    order: Vec<usize>,
    /// Proved optimal (Held–Karp).
    optimal: bool,
    kicks: u64,
    /// Where it ran: the GPU's name when the GPU took part.
    backend: &'static str,
}

/// Runs `f`, turning a panic into its message.
fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panic".into())
    })
}

/// What the GPU local search takes: round trips of 13 to [`GPU_MAX_N`]
/// points under haversine or euclidean (and, checked after, at least 13
/// places: copies of a place are searched as one node). Open paths, fixed
/// ends, other metrics, tiny (exact) and larger instances stay on the CPU.
fn gpu_shaped(p: &Problem) -> bool {
    let n = p.points.len();
    p.round_trip
        && matches!(p.metric, Metric::Haversine | Metric::Euclidean)
        && n > exact::EXACT_MAX_N
        && n <= GPU_MAX_N
}

/// Greedy starts on the CPU, iterated local search on the GPU, lengths
/// recomputed in f64. `problems`: a nonempty batch of one metric.
fn solve_on_gpu(gpu: &Gpu, problems: &[&Problem], budget: &Budget) -> Result<Vec<Solution>, gpu::GpuError> {
    let t0 = Instant::now();
    let metric = problems[0].metric;
    // Searched on points spread wide enough for f32, as on the CPU.
    let scaled: Vec<Option<(Problem, f64)>> = problems.par_iter().map(|p| planar_scaled(p)).collect();
    let points = |k: usize| scaled[k].as_ref().map_or(&problems[k].points, |(q, _)| &q.points);
    let (lists, starts): (Vec<Neighbors>, Vec<Vec<u32>>) = (0..problems.len())
        .into_par_iter()
        .map(|k| {
            let p = problems[k];
            let d = PointDist::new(p.metric, points(k));
            let nb = Neighbors::from_points(&d, NEIGHBORS, 0, None);
            let tour = construct::greedy_edge(&d, &nb, d.embedding(), &[]);
            (nb, tour)
        })
        .unzip();
    let instances: Vec<SmallInstance> = (0..problems.len())
        .zip(&lists)
        .zip(starts)
        .map(|((k, neighbors), tour)| {
            let p = problems[k];
            // As on the CPU: a time limit (the request's, else the call's)
            // or a kick count is run out; with neither, the search stops on
            // stagnation, after at most GPU_DEFAULT_ROUNDS (no default time:
            // the batch runs together, not one request after another).
            let given = budget.time_limit_for(p);
            let (rounds, stall) = match (budget.kicks, given) {
                (Some(k), _) => (k.min(u32::MAX as u64) as u32, 0),
                (None, Some(_)) => (u32::MAX, 0),
                (None, None) => (GPU_DEFAULT_ROUNDS, gpu_default_stall(p.points.len())),
            };
            let seed = p.seed.or(budget.seed).unwrap_or(DEFAULT_SEED);
            let (limit, deadline) = (given, budget.deadline);
            SmallInstance { points: points(k), neighbors, tour, rounds, stall, seed, limit, deadline }
        })
        .collect();
    let prepared = t0.elapsed();
    let tours = gpu.improve_batch(metric, &instances, budget.cancel.as_deref())?;
    Ok(problems
        .iter()
        .zip(tours)
        .map(|(p, t)| {
            let order = from_start(&t.tour, p.start);
            let legs = tour_legs(p.metric, &p.points, &order, true);
            Solution {
                length: legs_total(&legs),
                legs,
                order,
                optimal: false,
                backend: gpu.name(),
                elapsed: prepared + t.elapsed,
                kicks: t.rounds as u64,
            }
        })
        .collect())
}

/// A round trip's cycle read from `start`.
fn from_start(tour: &[u32], start: usize) -> Vec<usize> {
    let at = tour.iter().position(|&c| c as usize == start).unwrap_or(0);
    tour[at..].iter().chain(&tour[..at]).map(|&c| c as usize).collect()
}

/// A euclidean problem whose points span less than 1 (the larger of their
/// x and y ranges), scaled by the power of two that makes the span 1 to 2,
/// and the length of one of its units in the problem's. The distance matrix
/// and the GPU work in f32, where the squares of coordinate differences
/// below about 1e-19 underflow: points 1e-25 apart all read as 0 apart, and
/// the tours came back 2.5 times too long. A power of two scales every
/// distance exactly, so the search is the one the same points get at a
/// larger scale; lengths are still measured on the given points. Spans of 1
/// and more are left as they are (the planar range ends at 1e9).
fn planar_scaled(p: &Problem) -> Option<(Problem, f64)> {
    if p.metric != Metric::Euclidean {
        return None;
    }
    let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
    for q in &p.points {
        for k in 0..2 {
            lo[k] = lo[k].min(q[k]);
            hi[k] = hi[k].max(q[k]);
        }
    }
    let span = (hi[0] - lo[0]).max(hi[1] - lo[1]);
    if !(span > 0.0 && span < 1.0) {
        return None;
    }
    // span · 2^k is in [1, 2). 2^k itself overflows from k = 1024 (spans
    // below 2^-1023, subnormal), so it is applied as two factors, each exact.
    let k = -span.log2().floor() as i32;
    let (a, b) = (2f64.powi(k / 2), 2f64.powi(k - k / 2));
    let points = p.points.iter().map(|q| [q[0] * a * b, q[1] * a * b]).collect();
    Some((Problem { points, ..p.clone_without_points() }, 1.0 / a / b))
}

/// The earlier of two optional deadlines (either, when one is missing).
pub(crate) fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Default limit when neither the problem nor the call gives one: grows with
/// n. Small instances normally stop earlier, on stagnation.
pub fn default_time_limit(n: usize) -> Duration {
    Duration::from_secs_f64((0.02 + n as f64 * 5e-4).min(60.0))
}

/// Kicks without improvement after which a default-budget search stops.
/// Grows with n³ because larger instances need more rounds between
/// improvements. Fitted on the searches of 8 seeds × 1000 random requests a
/// size, replayed (BENCHMARKS.md): 15, 39, 92, 179 and 1429 stale kicks at
/// 20, 30, 40, 50 and 100 stops land on the best known tour in 99.3–99.5%
/// of them. From a few hundred points the default time limit ends the
/// search first.
pub fn default_stall(n: usize) -> u64 {
    (n as u64).saturating_pow(3).div_ceil(700).max(15)
}

/// Up to this many points a default-budget search ends on its stall rule
/// alone, capped at [`KICK_CAP_STALLS`] stalls of kicks, never on a clock:
/// so a record solved twice (a Kinesis redelivery) gives the same tour
/// however busy the machine was. Measured on 2 cores: the stall rule ended
/// every search of 500 random requests at each of 20, 50, 100 and 150 stops
/// before the default time limit would have; of 100 at 200 stops, 88.
const STALL_ONLY_MAX_N: usize = 150;
/// Kicks of a stall-only search at most, in stalls: the most measured was
/// 2.4 stalls (150 stops), so the cap only bounds a pathological search.
const KICK_CAP_STALLS: u64 = 10;

/// One kick in five may keep a tour longer than the current one, as long as
/// it stays within two average edges of the best tour seen (which is what
/// is returned). Measured on 1000 random 100-stop requests at 1000 kicks,
/// three seeds: 897 at the best known tour with no such kicks, 938 with
/// them. The window is anchored at the best, not at the current tour: a
/// walk that may drift from its current tour drifts far on a large
/// instance, where kicks are local (fnl4461 at 4 s: 0.89% against 0.31%).
const SLACK_ODDS: f64 = 0.2;
const SLACK_EDGES: f64 = 2.0;

/// When one search stops.
struct Limits<'a> {
    t0: Instant,
    deadline: Option<Instant>,
    limit: Option<Duration>,
    kicks: Option<u64>,
    stall: Option<u64>,
    budget: &'a Budget,
    seed: u64,
    /// Whether kicks may keep a slightly longer tour (see [`SLACK_ODDS`]).
    /// Not on the matrix-free path: the best tour would then have to be
    /// copied aside at each of its many improving kicks, and a million-node
    /// copy costs more than the kick.
    diversify: bool,
    /// Request units per unit of the searched points (see [`planar_scaled`]).
    unit: f64,
}

impl<'a> Limits<'a> {
    /// Whether the search must end at `now`: past the deadline, or cancelled.
    fn over(&self, now: Instant) -> bool {
        self.deadline.is_some_and(|dl| now >= dl)
            || self.budget.cancel.as_ref().is_some_and(|c| c.load(Ordering::Relaxed))
    }

    fn new(p: &Problem, budget: &'a Budget, t0: Instant, diversify: bool) -> Limits<'a> {
        let given = budget.time_limit_for(p);
        let n = p.points.len();
        let explicit = given.is_some() || budget.kicks.is_some();
        let stall_only = !explicit && n <= STALL_ONLY_MAX_N;
        let limit = match (given, budget.kicks) {
            (Some(l), _) => Some(l),
            (None, Some(_)) => None,
            (None, None) if stall_only => None,
            (None, None) => Some(default_time_limit(n)),
        };
        // A limit past the end of time (the CLI accepts any seconds) is no limit.
        let deadline = earliest(limit.and_then(|l| t0.checked_add(l)), budget.deadline);
        let stall = (!explicit).then(|| default_stall(n));
        Limits {
            t0,
            deadline,
            limit,
            kicks: budget.kicks.or(stall.filter(|_| stall_only).map(|s| s * KICK_CAP_STALLS)),
            stall,
            budget,
            seed: p.seed.or(budget.seed).unwrap_or(DEFAULT_SEED),
            diversify,
            unit: 1.0,
        }
    }
}

/// Round trips from this many points start with the GPU's 2-opt descent in
/// an automatic engine, when the adapter is a real GPU. Measured on an H100
/// host (BENCHMARKS.md): at 10^6 uniform points the local search from the
/// greedy tour took 43 s on the CPU and 17 s with the descent first (the
/// local optimum 0.2% longer, which kicks wash out).
pub const DESCENT_MIN_N: usize = 100_000;

/// A large round trip's 2-opt descent on the GPU stops at the first pass
/// that applies fewer than one move per this many nodes: the tail, a few
/// moves a pass, is quicker for the CPU's local search.
const GPU_TAIL: usize = 1000;

/// One heuristic search: greedy edge, (for a large round trip with a GPU,
/// the GPU's 2-opt descent,) local search, then ILS until the limits.
struct Heuristic<'a> {
    emb: &'a [[f64; 3]],
    p: &'a Problem,
    limits: &'a Limits<'a>,
    gpu: Option<&'a Gpu>,
    /// The start tour, instead of greedy edge's.
    from: Option<&'a [usize]>,
}

impl Heuristic<'_> {
    /// Returns the order from `start` (and the open path's `end` last), the
    /// kicks run and whether the GPU took part.
    fn run<D: Dist>(&self, d: &D, nb: Neighbors) -> (Vec<usize>, u64, bool) {
        let (p, limits) = (self.p, self.limits);
        let n = p.points.len();
        let given = self.from.map(|o| o.iter().map(|&c| c as u32));
        if p.round_trip {
            let mut start = match given {
                Some(order) => order.collect(),
                None => construct::greedy_edge(d, &nb, self.emb, &[]),
            };
            let on_gpu = self.gpu.is_some_and(|gpu| descend_on_gpu(gpu, d, p, &nb, &mut start, limits));
            let (tour, kicks) = improve(d, &nb, start, None, limits);
            (from_start(&tour, p.start), kicks, on_gpu)
        } else {
            let dummy = n as u32;
            let ends: Vec<u32> = std::iter::once(p.start as u32).chain(p.end.map(|e| e as u32)).collect();
            let pinned = [ends[0], *ends.last().unwrap_or(&ends[0])];
            let nb = nb.with_dummy(&ends);
            let d = WithDummy { inner: d };
            let start = match given {
                // The path, then the dummy between its end and its start.
                Some(path) => path.chain([dummy]).collect(),
                None => construct::greedy_edge(&d, &nb, self.emb, &pinned.map(|e| (dummy, e))),
            };
            let (tour, kicks) = improve(&d, &nb, start, Some((dummy, pinned)), limits);
            // Read the cycle from the dummy, in the direction where start comes first.
            let at = tour.iter().position(|&c| c == dummy).unwrap_or(0);
            let mut path: Vec<usize> = tour[at + 1..].iter().chain(&tour[..at]).map(|&c| c as usize).collect();
            if path.first() != Some(&p.start) {
                path.reverse();
            }
            (path, kicks, false)
        }
    }
}

/// The GPU's 2-opt descent of `tour` (see [`Gpu::two_opt_descent`]). A GPU
/// failure keeps the moves applied so far, is logged once, and the CPU's
/// local search goes on from there. Returns whether the GPU made a pass.
fn descend_on_gpu<D: Dist>(gpu: &Gpu, d: &D, p: &Problem, nb: &Neighbors, tour: &mut [u32], limits: &Limits) -> bool {
    let until = Until {
        min_moves: (p.points.len() / GPU_TAIL).max(1),
        deadline: limits.deadline,
        cancel: limits.budget.cancel.as_deref(),
    };
    match gpu.two_opt_descent(d, p.metric, &p.points, nb, tour, until) {
        Ok(done) => {
            tracing::debug!(
                passes = done.passes,
                proposed = done.proposed,
                applied = done.applied,
                gain = done.gain,
                host_ms = done.host.as_millis() as u64,
                ms = limits.t0.elapsed().as_millis() as u64,
                "GPU 2-opt descent"
            );
            done.passes > 0
        }
        Err(e) => {
            tracing::warn!("GPU 2-opt descent of {} points failed, the CPU goes on: {e}", p.points.len());
            false
        }
    }
}

/// Local search from `start`, then ILS until the limits; returns the best
/// tour and the kicks run.
fn improve<D: Dist>(
    d: &D,
    nb: &Neighbors,
    start: Vec<u32>,
    pinned: Option<(u32, [u32; 2])>,
    limits: &Limits,
) -> (Vec<u32>, u64) {
    let mut search = local::Search::new(d, nb, start, pinned);
    let (t, from) = (Instant::now(), search.length);
    search.push_all();
    search.optimize_until(|| limits.over(Instant::now()));
    let ms = t.elapsed().as_secs_f64() * 1e3;
    tracing::debug!(from, to = search.length, ms, "local search from the start tour");
    let mut rng = fastrand::Rng::with_seed(limits.seed);
    let (mut kicks, mut since_better, mut found_at) = (0u64, 0u64, 0u64);
    // With slack the current tour may be worse than the best, which is then
    // kept aside; without it the current tour is always the best.
    let diversify = limits.diversify;
    let mut best_len = search.length;
    let mut best = if diversify { search.tour.order().to_vec() } else { Vec::new() };
    let mut last_report = limits.t0;
    loop {
        if limits.kicks.is_some_and(|k| kicks >= k) || limits.stall.is_some_and(|s| since_better >= s) {
            break;
        }
        if kicks % 16 == 0 {
            let now = Instant::now();
            if limits.over(now) {
                break;
            }
            if let Some(report) = &limits.budget.progress {
                if now.duration_since(last_report) >= Duration::from_millis(100) {
                    last_report = now;
                    let length = best_len * limits.unit;
                    report(Progress { length, elapsed: now - limits.t0, limit: limits.limit });
                }
            }
        }
        kicks += 1;
        let slack = if diversify && rng.f64() < SLACK_ODDS {
            (best_len + SLACK_EDGES * best_len / d.n() as f64 - search.length).max(0.0)
        } else {
            0.0
        };
        search.kick_round(&mut rng, slack);
        if search.length < best_len - search.eps {
            since_better = 0;
            found_at = kicks;
            best_len = search.length;
            // The search's trajectory, for studying stop rules offline.
            tracing::trace!(kicks, best_len, "new best tour");
            if diversify {
                best.clear();
                best.extend_from_slice(search.tour.order());
            }
        } else {
            since_better += 1;
        }
    }
    if !diversify {
        best = search.tour.order().to_vec();
    }
    // Kicks past `found_at` only confirmed the tour: the stop rule's cost.
    tracing::debug!(kicks, found_at, length = best_len, "iterated local search");
    (best, kicks)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A default-budget search of up to `STALL_ONLY_MAX_N` points ends on
    /// its stall rule whatever the clock says: one that started 10 s ago
    /// (a thread preempted that long, as on a busy host) runs the same kicks
    /// to the same tour. Above that size the default time limit ends it.
    #[test]
    fn small_default_searches_end_on_their_stall_rule_not_a_clock() {
        let engine = Engine::new(Backend::Simd);
        let budget = Budget::default();
        let mut rng = fastrand::Rng::with_seed(11);
        for n in [13, 60, STALL_ONLY_MAX_N, STALL_ONLY_MAX_N + 1] {
            let points: Vec<[f64; 2]> = (0..n).map(|_| [25.0 + rng.f64() * 24.0, -124.0 + rng.f64() * 57.0]).collect();
            let p = Problem::round_trip(points, Metric::Haversine);
            let now = engine.search(&p, &budget, Instant::now(), 1.0, None);
            let late = engine.search(&p, &budget, Instant::now() - Duration::from_secs(10), 1.0, None);
            if n <= STALL_ONLY_MAX_N {
                assert_eq!((now.kicks, &now.order), (late.kicks, &late.order), "n = {n}");
                let stall = default_stall(n);
                assert!(now.kicks >= stall && now.kicks <= KICK_CAP_STALLS * stall, "n = {n}: {}", now.kicks);
            } else {
                assert!(late.kicks < now.kicks, "n = {n}: the time limit had passed, yet {} kicks", late.kicks);
            }
        }
        // An explicit time limit is still a limit.
        let p = Problem::round_trip(
            (0..60).map(|i| [30.0 + (i % 8) as f64, -100.0 + (i / 8) as f64]).collect(),
            Metric::Haversine,
        );
        let timed = Budget { time_limit: Some(Duration::from_secs(1)), ..Budget::default() };
        assert_eq!(engine.search(&p, &timed, Instant::now() - Duration::from_secs(10), 1.0, None).kicks, 0);
    }

    /// Euclidean points a tiny distance apart get the tours the same points
    /// get at a larger scale: the same tour where the scale is a power of
    /// two (exact), the same length to within 1e-9 where it is not, on the
    /// SIMD and scalar matrices, the matrix-free path and the exact solver.
    /// (Their f32 distances once underflowed to 0 from about 1e-19.)
    #[test]
    fn tiny_planar_points_are_solved_as_larger_ones() {
        let mut rng = fastrand::Rng::with_seed(12);
        let budget = Budget { kicks: Some(30), seed: Some(2), ..Budget::default() };
        for (n, engine) in [
            (10, Engine::new(Backend::Simd)),
            (60, Engine::new(Backend::Simd)),
            (60, Engine::new(Backend::Scalar)),
            (60, Engine::new(Backend::Simd).with_matrix_max_n(10)),
        ] {
            let points: Vec<[f64; 2]> = (0..n).map(|_| [rng.f64() * 100.0, rng.f64() * 100.0]).collect();
            let at = |scale: f64| {
                let p = Problem::round_trip(
                    points.iter().map(|q| [q[0] * scale, q[1] * scale]).collect(),
                    Metric::Euclidean,
                );
                engine.solve(&p, &budget)
            };
            let one = at(1.0);
            for k in [-70, -200, -1000] {
                let scale = 2f64.powi(k);
                let tiny = at(scale);
                assert_eq!(tiny.order, one.order, "n = {n}, scale 2^{k}");
                assert!(
                    (tiny.length / scale - one.length).abs() <= 1e-9 * one.length,
                    "n = {n}, 2^{k}: {}",
                    tiny.length
                );
            }
            for scale in [1e-25, 1e-100] {
                let tiny = at(scale);
                assert!(
                    (tiny.length / scale - one.length).abs() <= 1e-9 * one.length,
                    "n = {n}, {scale}: {} against {}",
                    tiny.length / scale,
                    one.length
                );
            }
        }
        // Progress is reported in the request's units, not the search's.
        let points: Vec<[f64; 2]> = (0..2000).map(|_| [rng.f64() * 1e-3, rng.f64() * 1e-3]).collect();
        let reports = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = Arc::clone(&reports);
        let progress: Arc<dyn Fn(Progress) + Send + Sync> = Arc::new(move |p| seen.lock().unwrap().push(p.length));
        let timed = Budget { time_limit: Some(Duration::from_secs(1)), progress: Some(progress), ..Budget::default() };
        let s = Engine::new(Backend::Simd).solve(&Problem::round_trip(points, Metric::Euclidean), &timed);
        let reports = reports.lock().unwrap();
        assert!(!reports.is_empty(), "no progress in 1 s");
        // The search sums f32 matrix entries; the solution is measured in f64.
        for &r in reports.iter() {
            assert!(r >= s.length * (1.0 - 1e-5) && r <= 1.2 * s.length, "reported {r}, solved {}", s.length);
        }
        // Spans of 1 and more are searched as given.
        let p = Problem::round_trip(vec![[0.0, 0.0], [1.0, 0.5], [0.25, 1.0]], Metric::Euclidean);
        assert!(planar_scaled(&p).is_none());
        let q = Problem::round_trip(vec![[0.0, 0.0], [0.3, 0.1]], Metric::Euclidean);
        let (scaled, unit) = planar_scaled(&q).expect("a span under 1");
        assert_eq!((scaled.points[1], unit), ([1.2, 0.4], 0.25));
    }
}
