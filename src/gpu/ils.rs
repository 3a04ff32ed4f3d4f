//! `shaders/two_opt.wgsl`: many small instances at once, one workgroup each.
//!
//! Each instance's points are sent centred on their mean (the unit vectors
//! for haversine, the plane points for euclidean) before the cast to f32, so
//! a city-sized instance keeps millimetre precision on the GPU.

use super::{bind, module, pipeline, upload, Gpu, GpuError, EPS_REL, GRID_X};
use crate::metric::{Metric, EARTH_RADIUS_KM};
use crate::solver::earliest;
use crate::solver::neighbors::Neighbors;
use bytemuck::{Pod, Zeroable};
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Largest instance the shader holds in workgroup memory.
pub const GPU_MAX_N: usize = 256;
/// Workgroup memory `two_opt.wgsl` declares (its `var<workgroup>`s, summed
/// by a test), more than WebGPU's default limit of 16 KiB.
pub(super) const WORKGROUP_BYTES: u32 = 17_428;
/// Smallest instance the kick and Or-opt moves are written for.
const MIN_N: usize = 8;
/// Instances per dispatch: bounds the buffers (and lavapipe's 128 MiB
/// bindings) whatever the batch size.
const CHUNK: usize = 4096;
const NONE: u32 = u32::MAX;

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    sphere: u32,
    scale: f32,
    eps_rel: f32,
    k: u32,
    /// Where the current tours start in the tours buffer.
    half: u32,
    _pad: [u32; 3],
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Instance {
    offset: u32,
    n: u32,
    rounds: u32,
    stall: u32,
    seed: u32,
    first: u32,
    since: u32,
    best: f32,
    /// The centre subtracted from the instance's points (see `upload_instances`).
    centre: [f32; 3],
    _pad: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Outcome {
    value: f32,
    a: u32,
    b: u32,
    _pad: u32,
}

pub(super) struct Kernels {
    layout: wgpu::BindGroupLayout,
    ils: wgpu::ComputePipeline,
    best_move: wgpu::ComputePipeline,
}

impl Kernels {
    pub(super) fn new(device: &wgpu::Device) -> Kernels {
        let m = module(device, "two_opt.wgsl", include_str!("../../shaders/two_opt.wgsl"));
        let (layout, mut p) = pipeline(device, &m, &["ils", "best_move"], 6, &[4, 5]);
        let best_move = p.remove(1);
        Kernels { layout, ils: p.remove(0), best_move }
    }
}

/// One small instance for the GPU.
pub struct SmallInstance<'a> {
    pub points: &'a [[f64; 2]],
    /// Each point's nearest neighbours (2-opt and Or-opt candidates); shorter lists
    /// are padded by repeating their last entry.
    pub neighbors: &'a Neighbors,
    /// Starting tour, a permutation of `0..n`.
    pub tour: Vec<u32>,
    /// Kick rounds at most.
    pub rounds: u32,
    /// Rounds without a better tour that end the search early (0: never).
    pub stall: u32,
    pub seed: u64,
    /// Time to search, counted from when the instance's chunk of
    /// [`CHUNK`] instances starts: a batch runs its chunks one after
    /// another, and each request's time limit is its own, as on the CPU.
    pub limit: Option<Duration>,
    /// When to stop however many rounds are left, whatever the limit (the
    /// caller's deadline). Both are checked between slices.
    pub deadline: Option<Instant>,
}

/// What the GPU made of one instance.
#[derive(Clone, Debug)]
pub struct SmallTour {
    /// The best tour found, a permutation of `0..n`.
    pub tour: Vec<u32>,
    /// Its length in the GPU's f32 arithmetic (callers recompute in f64).
    pub length: f32,
    pub rounds: u32,
    /// The time its chunk took on the GPU.
    pub elapsed: Duration,
}

/// A 2-opt move `(i, j, gain)`: see [`crate::solver::reference::best_2opt_move`].
pub type Move = (usize, usize, f32);

/// An instance's centred points, padded neighbour lists and centre.
type Packed = (Vec<[f32; 4]>, Vec<u32>, [f32; 3]);

/// The device-side copy of a chunk of instances; the instance table, which
/// changes from slice to slice, is bound per dispatch.
struct Uploaded {
    params: wgpu::Buffer,
    points: wgpu::Buffer,
    neighbors: wgpu::Buffer,
    tours: wgpu::Buffer,
    outcomes: wgpu::Buffer,
    offsets: Vec<(usize, usize)>,
    centres: Vec<[f32; 3]>,
}

/// Rounds in a batch's first slice; each slice that ends within
/// [`SLICE_TARGET`] doubles the next. A batch with neither deadlines nor a
/// cancel flag runs all its rounds in one slice.
const FIRST_SLICE: u32 = 8;
const SLICE_TARGET: Duration = Duration::from_millis(100);

/// Where one instance's search stands between slices.
#[derive(Clone, Copy, Default)]
struct State {
    rounds: u32,
    since: u32,
    length: f32,
}

impl Gpu {
    /// Iterated local search on every instance (2-opt + Or-opt to a local
    /// optimum, kick, repeat; the best tour kept, and one kick in five may
    /// move on from a slightly longer tour). All instances share `metric`,
    /// haversine or euclidean, and have 8 to [`GPU_MAX_N`] points.
    ///
    /// With deadlines or a `cancel` flag the rounds run in slices (8 rounds,
    /// then doubling while a slice takes under 100 ms); between slices the
    /// instances past their deadline, out of rounds or stalled leave the
    /// dispatch, and a set flag ends them all. A slice resumes from the
    /// current and best tours of the one before with the same kicks, so
    /// slicing changes when a search may stop, never its tours.
    pub fn improve_batch(
        &self,
        metric: Metric,
        instances: &[SmallInstance],
        cancel: Option<&AtomicBool>,
    ) -> Result<Vec<SmallTour>, GpuError> {
        let mut out = Vec::with_capacity(instances.len());
        for chunk in instances.chunks(CHUNK) {
            let started = Instant::now();
            let up = self.upload_instances(metric, chunk)?;
            let due: Vec<Option<Instant>> =
                chunk.iter().map(|i| earliest(i.limit.and_then(|l| started.checked_add(l)), i.deadline)).collect();
            let sliced = cancel.is_some() || due.iter().any(Option::is_some);
            // The chunk is due when its last instance is; without a deadline
            // on every instance, there is no bound.
            let by = due.iter().copied().collect::<Option<Vec<_>>>().and_then(|d| d.into_iter().max());
            let mut slice = if sliced { FIRST_SLICE } else { u32::MAX };
            let mut state = vec![State::default(); chunk.len()];
            let mut active: Vec<usize> = (0..chunk.len()).collect();
            while !active.is_empty() {
                let table: Vec<Instance> = active
                    .iter()
                    .map(|&i| {
                        let s = state[i];
                        let end = chunk[i].rounds.min(s.rounds.saturating_add(slice));
                        Instance {
                            rounds: end,
                            first: s.rounds,
                            since: s.since,
                            best: s.length,
                            ..instance(&chunk[i], up.offsets[i], up.centres[i])
                        }
                    })
                    .collect();
                let t0 = Instant::now();
                let outcomes = self.dispatch(&self.ils.ils, &up, &table, by)?;
                for ((&i, o), t) in active.iter().zip(&outcomes).zip(&table) {
                    // A slice ends at its last round or on stagnation; anything
                    // else is a GPU fault, and would loop here for ever.
                    if o.a != t.rounds && !(t.stall != 0 && o.b >= t.stall) {
                        return Err(GpuError::Failed(format!("the GPU stopped at round {} of {}", o.a, t.rounds)));
                    }
                    state[i] = State { rounds: o.a, since: o.b, length: o.value };
                }
                let now = Instant::now();
                let cancelled = cancel.is_some_and(|c| c.load(Ordering::Relaxed));
                active.retain(|&i| {
                    let (inst, s) = (&chunk[i], state[i]);
                    let done = s.rounds >= inst.rounds
                        || (inst.stall != 0 && s.since >= inst.stall)
                        || due[i].is_some_and(|d| now >= d);
                    !(done || cancelled)
                });
                if now - t0 < SLICE_TARGET {
                    slice = slice.saturating_mul(2);
                }
            }
            let total: usize = up.offsets.iter().map(|o| o.1).sum();
            let tours: Vec<u32> =
                bytemuck::pod_collect_to_vec(&self.read(&up.tours, 0, (total.max(1) * 4) as u64, by)?);
            for ((s, &(off, n)), inst) in state.iter().zip(&up.offsets).zip(chunk) {
                let tour = tours[off..off + n].to_vec();
                check_permutation(&tour, inst.points.len())?;
                out.push(SmallTour { tour, length: s.length, rounds: s.rounds, elapsed: started.elapsed() });
            }
        }
        Ok(out)
    }

    /// The best 2-opt move of each instance's `tour` by the shader's full
    /// scan: `(i, j, gain)` as in [`crate::solver::reference::best_2opt_move`],
    /// `None` when no move gains more than the shader's epsilon.
    pub fn best_2opt_moves(&self, metric: Metric, instances: &[SmallInstance]) -> Result<Vec<Option<Move>>, GpuError> {
        let mut out = Vec::with_capacity(instances.len());
        for chunk in instances.chunks(CHUNK) {
            let up = self.upload_instances(metric, chunk)?;
            let table: Vec<Instance> =
                chunk.iter().enumerate().map(|(i, inst)| instance(inst, up.offsets[i], up.centres[i])).collect();
            let outcomes = self.dispatch(&self.ils.best_move, &up, &table, None)?;
            out.extend(outcomes.iter().map(|o| (o.a != NONE).then_some((o.a as usize, o.b as usize, o.value))));
        }
        Ok(out)
    }

    fn upload_instances(&self, metric: Metric, chunk: &[SmallInstance]) -> Result<Uploaded, GpuError> {
        let sphere = match metric {
            Metric::Haversine => true,
            Metric::Euclidean => false,
            m => return Err(GpuError::Unsupported(format!("the {} metric", m.name()))),
        };
        let k =
            chunk.iter().flat_map(|i| (0..i.points.len() as u32).map(|p| i.neighbors.of(p).len())).max().unwrap_or(0);
        let mut offsets = Vec::with_capacity(chunk.len());
        let mut total = 0usize;
        for inst in chunk {
            let n = inst.points.len();
            if !(MIN_N..=GPU_MAX_N).contains(&n) {
                return Err(GpuError::Unsupported(format!("{n} points (the GPU takes {MIN_N} to {GPU_MAX_N})")));
            }
            if inst.tour.len() != n || (0..n as u32).any(|i| inst.neighbors.of(i).is_empty()) {
                return Err(GpuError::Unsupported("a tour or neighbour list that does not fit the points".into()));
            }
            offsets.push((total, n));
            total += n;
        }
        // Points centred per instance, then f32 (short distances keep their
        // precision; the shader adds the centre back for the arc of points
        // more than 90° apart); neighbours and tours as u32.
        let per: Vec<Packed> = chunk
            .par_iter()
            .map(|inst| {
                let v: Vec<[f64; 3]> = inst.points.iter().map(|&p| metric.embed(p)).collect();
                let n = v.len() as f64;
                let c = v.iter().fold([0.0; 3], |s, p| [s[0] + p[0] / n, s[1] + p[1] / n, s[2] + p[2] / n]);
                let pts = v.iter().map(|p| [(p[0] - c[0]) as f32, (p[1] - c[1]) as f32, (p[2] - c[2]) as f32, 0.0]);
                let nb = (0..v.len() as u32).flat_map(|i| inst.neighbors.padded(i, k));
                (pts.collect(), nb.collect(), c.map(|x| x as f32))
            })
            .collect();
        let points: Vec<[f32; 4]> = per.iter().flat_map(|p| p.0.iter().copied()).collect();
        let neighbors: Vec<u32> = per.iter().flat_map(|p| p.1.iter().copied()).collect();
        // The best tours, then the current ones (the search may keep a
        // longer tour to move on from): both start as the given tours.
        let tours: Vec<u32> = chunk.iter().flat_map(|i| i.tour.iter().copied()).collect();
        let tours = [tours.as_slice(), tours.as_slice()].concat();
        let params = Params {
            sphere: sphere as u32,
            scale: (2.0 * EARTH_RADIUS_KM) as f32,
            eps_rel: EPS_REL,
            k: k as u32,
            half: total as u32,
            _pad: [0; 3],
        };
        self.checked(|| {
            let storage = wgpu::BufferUsages::STORAGE;
            let copy = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC;
            let d = &self.device;
            Ok(Uploaded {
                params: upload(d, "params", bytemuck::bytes_of(&params), wgpu::BufferUsages::UNIFORM),
                points: upload(d, "points", bytemuck::cast_slice(&points), storage),
                neighbors: upload(d, "neighbors", bytemuck::cast_slice(&neighbors), storage),
                tours: upload(d, "tours", bytemuck::cast_slice(&tours), copy),
                outcomes: upload(d, "outcomes", &vec![0u8; chunk.len() * size_of::<Outcome>()], copy),
                offsets,
                centres: per.iter().map(|p| p.2).collect(),
            })
        })
    }

    /// Dispatches one workgroup per entry of `table` and reads back their
    /// outcomes (the tours stay on the device), waiting as long as work due
    /// `by` may take.
    fn dispatch(
        &self,
        pipeline: &wgpu::ComputePipeline,
        up: &Uploaded,
        table: &[Instance],
        by: Option<Instant>,
    ) -> Result<Vec<Outcome>, GpuError> {
        self.checked(|| {
            let d = &self.device;
            let table_buffer = upload(d, "instances", bytemuck::cast_slice(table), wgpu::BufferUsages::STORAGE);
            let buffers = [&up.params, &table_buffer, &up.points, &up.neighbors, &up.tours, &up.outcomes];
            let group = bind(d, "instances", &self.ils.layout, &buffers);
            let mut encoder = d.create_command_encoder(&Default::default());
            {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                pass.set_pipeline(pipeline);
                pass.set_bind_group(0, &group, &[]);
                let x = table.len().min(GRID_X as usize);
                pass.dispatch_workgroups(x as u32, table.len().div_ceil(GRID_X as usize) as u32, 1);
            }
            self.queue.submit([encoder.finish()]);
            let outcomes = self.read(&up.outcomes, 0, (table.len() * size_of::<Outcome>()) as u64, by)?;
            Ok(bytemuck::pod_collect_to_vec(&outcomes))
        })
    }
}

/// An instance's table entry for a search from its first round.
fn instance(inst: &SmallInstance, (offset, n): (usize, usize), centre: [f32; 3]) -> Instance {
    Instance {
        offset: offset as u32,
        n: n as u32,
        rounds: inst.rounds,
        stall: inst.stall,
        seed: (inst.seed ^ (inst.seed >> 32)) as u32,
        first: 0,
        since: 0,
        best: 0.0,
        centre,
        _pad: 0,
    }
}

/// A tour that is not a permutation means the GPU went wrong.
fn check_permutation(tour: &[u32], n: usize) -> Result<(), GpuError> {
    let mut seen = vec![false; n];
    for &c in tour {
        match seen.get_mut(c as usize) {
            Some(s) if !*s => *s = true,
            _ => return Err(GpuError::Failed(format!("the GPU returned a tour that is not a permutation of 0..{n}"))),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sums the shader's `var<workgroup>` declarations: scalars and arrays
    /// of 4-byte elements, `vec3<f32>` taking 16 bytes, array lengths given
    /// as numbers or as the shader's `const`s.
    #[test]
    fn workgroup_bytes_are_what_the_shader_declares() {
        let source = include_str!("../../shaders/two_opt.wgsl");
        let consts: std::collections::HashMap<&str, u32> = source
            .lines()
            .filter_map(|l| l.strip_prefix("const ")?.split_once(": u32 = "))
            .filter_map(|(name, v)| Some((name, v.trim_end_matches(';').trim_end_matches('u').parse().ok()?)))
            .collect();
        let size = |ty: &str| match ty {
            "f32" | "u32" | "atomic<u32>" => 4,
            "vec3<f32>" => 16,
            other => panic!("a workgroup type the test does not know: {other}"),
        };
        let mut total = 0;
        for decl in source.lines().filter_map(|l| l.strip_prefix("var<workgroup> ")) {
            let ty = decl.split_once(": ").expect("name: type").1.trim_end_matches(';');
            total += match ty.strip_prefix("array<").and_then(|t| t.strip_suffix('>')) {
                Some(inner) => {
                    let (elem, count) = inner.rsplit_once(", ").expect("array<type, count>");
                    size(elem) * count.parse().unwrap_or_else(|_| consts[count])
                }
                None => size(ty),
            };
        }
        assert_eq!(total, WORKGROUP_BYTES);
    }
}
