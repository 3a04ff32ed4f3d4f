//! The GPU backend on a real wgpu adapter (lavapipe, Mesa's software Vulkan
//! driver, in CI): shaders against the CPU references on the same random
//! inputs, the engine's routing and the fallback with the adapter hidden.
//!
//! Without an adapter these tests print "skipped" and pass, unless
//! `REQUIRE_GPU=1` (as CI sets), which makes a missing adapter a failure.

use route_optim::gpu::{self, Gpu, SmallInstance, Until, GPU_MAX_N};
use route_optim::matrix::DistMatrix;
use route_optim::metric::Metric;
use route_optim::solver::neighbors::Neighbors;
use route_optim::solver::{
    construct, local, reference, Backend, Budget, Dist, Engine, PointDist, Problem, DESCENT_MIN_N, GPU_MIN_BATCH,
    NEIGHBORS, QUADRANT_NEIGHBORS,
};
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// One device for the whole test binary.
fn gpu() -> Option<Arc<Gpu>> {
    static GPU: OnceLock<Option<Arc<Gpu>>> = OnceLock::new();
    GPU.get_or_init(|| match Gpu::probe() {
        Ok(g) => Some(Arc::new(g)),
        Err(e) if std::env::var("REQUIRE_GPU").is_ok_and(|v| v == "1") => panic!("REQUIRE_GPU=1 but {e}"),
        Err(e) => {
            eprintln!("skipped: {e}");
            None
        }
    })
    .clone()
}

fn world(rng: &mut fastrand::Rng, n: usize) -> Vec<[f64; 2]> {
    (0..n).map(|_| [rng.f64() * 170.0 - 85.0, rng.f64() * 360.0 - 180.0]).collect()
}

/// Points within a few city blocks: short distances must keep their precision.
fn city(rng: &mut fastrand::Rng, n: usize) -> Vec<[f64; 2]> {
    (0..n).map(|_| [41.88 + rng.f64() * 0.02, -87.63 + rng.f64() * 0.02]).collect()
}

/// Pairs of nearly antipodal points, where asin(chord/2) alone loses
/// kilometres in f32.
fn antipodes(rng: &mut fastrand::Rng, n: usize) -> Vec<[f64; 2]> {
    let mut pts = world(rng, n.div_ceil(2));
    let far: Vec<[f64; 2]> = pts
        .iter()
        .map(|p| [-p[0] + rng.f64() * 0.2 - 0.1, (p[1] + 360.0 + rng.f64() * 0.2).rem_euclid(360.0) - 180.0])
        .collect();
    pts.extend(far);
    pts.truncate(n);
    pts
}

fn plane(rng: &mut fastrand::Rng, n: usize) -> Vec<[f64; 2]> {
    (0..n).map(|_| [rng.f64() * 1e4 + 5e5, rng.f64() * 1e4 - 3e3]).collect()
}

/// `order` visits each of `0..n` once.
fn assert_permutation<T: Copy + TryInto<usize>>(order: &[T], n: usize, what: &str) {
    let mut seen: Vec<usize> = order.iter().filter_map(|&c| c.try_into().ok()).collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..n).collect::<Vec<_>>(), "{what}: not a permutation of 0..{n}");
}

fn assert_matrix_close(gpu: &DistMatrix, cpu: &DistMatrix, what: &str) {
    assert_eq!(gpu.n(), cpu.n());
    for i in 0..gpu.n() {
        for (j, (&g, &c)) in gpu.row(i).iter().zip(cpu.row(i)).enumerate() {
            assert!((g - c).abs() <= 1e-5 * c.abs(), "{what} [{i}][{j}]: gpu {g} vs cpu {c}");
        }
    }
}

#[test]
fn matrix_equals_cpu_simd_on_random_inputs() {
    let Some(gpu) = gpu() else { return };
    let mut rng = fastrand::Rng::with_seed(1);
    for n in [1, 2, 9, 100, 333] {
        for (metric, pts, what) in [
            (Metric::Haversine, world(&mut rng, n), "world"),
            (Metric::Haversine, city(&mut rng, n), "city"),
            (Metric::Haversine, antipodes(&mut rng, n), "antipodes"),
            (Metric::Euclidean, plane(&mut rng, n), "plane"),
        ] {
            let g = gpu.distance_matrix(metric, &pts).expect("gpu matrix");
            assert_matrix_close(&g, &DistMatrix::simd(metric, &pts), &format!("{what} n={n}"));
        }
    }
}

/// A matrix bound in blocks of 64 rows gives the same numbers.
#[test]
fn matrix_in_row_blocks() {
    let Some(gpu) = gpu() else { return };
    let pts = world(&mut fastrand::Rng::with_seed(2), 300);
    let block = 64 * 304 * 4;
    let g = gpu.distance_matrix_in_blocks(Metric::Haversine, &pts, block).expect("gpu matrix");
    assert_matrix_close(&g, &DistMatrix::simd(Metric::Haversine, &pts), "blocks");
}

#[test]
fn other_metrics_are_refused() {
    let Some(gpu) = gpu() else { return };
    let pts = world(&mut fastrand::Rng::with_seed(3), 20);
    let e = gpu.distance_matrix(Metric::Geodesic, &pts).expect_err("geodesic has no GPU kernel");
    assert!(e.to_string().contains("geodesic"), "{e}");
}

/// Instances with their neighbour lists and a start tour.
struct Case {
    points: Vec<[f64; 2]>,
    neighbors: Neighbors,
    tour: Vec<u32>,
}

fn case(points: Vec<[f64; 2]>, metric: Metric, tour: Vec<u32>) -> Case {
    let d = PointDist::new(metric, &points);
    let neighbors = Neighbors::from_points(&d, NEIGHBORS, 0, None);
    Case { points, neighbors, tour }
}

fn instances(cases: &[Case], rounds: u32, seed: u64) -> Vec<SmallInstance<'_>> {
    cases
        .iter()
        .map(|c| SmallInstance {
            points: &c.points,
            neighbors: &c.neighbors,
            tour: c.tour.clone(),
            rounds,
            stall: 0,
            seed,
            limit: None,
            deadline: None,
        })
        .collect()
}

fn mean_edge(d: &impl Dist, tour: &[u32]) -> f64 {
    let n = tour.len();
    (0..n).map(|k| d.d(tour[k] as usize, tour[(k + 1) % n] as usize)).sum::<f64>() / n as f64
}

/// The shader's full-scan best 2-opt move equals the CPU reference's.
#[test]
fn best_2opt_move_equals_cpu_full_scan() {
    let Some(gpu) = gpu() else { return };
    let mut rng = fastrand::Rng::with_seed(4);
    for metric in [Metric::Haversine, Metric::Euclidean] {
        let mut cases = Vec::new();
        for n in [8, 13, 50, 101, 256] {
            for k in 0..6 {
                let pts = match (metric, k % 2) {
                    (Metric::Haversine, 0) => world(&mut rng, n),
                    (Metric::Haversine, _) => antipodes(&mut rng, n),
                    _ => plane(&mut rng, n),
                };
                let mut tour: Vec<u32> = (0..n as u32).collect();
                rng.shuffle(&mut tour);
                cases.push(case(pts, metric, tour));
            }
        }
        // A tour that is already 2-opt optimal has no move.
        let pts = plane(&mut rng, 40);
        let d = PointDist::new(metric, &pts);
        let nb = Neighbors::from_points(&d, NEIGHBORS, 0, None);
        let mut tour = construct::greedy_edge(&d, &nb, d.embedding(), &[]);
        while let Some((i, j, _)) = reference::best_2opt_move(&d, &tour) {
            tour[i + 1..=j].reverse();
        }
        cases.push(case(pts, metric, tour));

        let moves = gpu.best_2opt_moves(metric, &instances(&cases, 0, 1)).expect("gpu moves");
        for (c, m) in cases.iter().zip(moves) {
            let d = PointDist::new(metric, &c.points);
            let tol = 1e-5 * mean_edge(&d, &c.tour);
            let cpu = reference::best_2opt_move(&d, &c.tour);
            match (cpu, m) {
                (None, None) => {}
                (Some((_, _, g)), None) => {
                    assert!(g <= tol, "n={}: the GPU found no move, the CPU one of {g}", c.tour.len())
                }
                (None, Some(m)) => panic!("n={}: the GPU found {m:?}, the CPU none", c.tour.len()),
                (Some((_, _, best)), Some((i, j, g))) => {
                    assert!(i + 2 <= j && j < c.tour.len(), "bad move ({i}, {j})");
                    let n = c.tour.len();
                    let t = |k: usize| c.tour[k % n] as usize;
                    let cpu_gain =
                        d.d(t(i), t(i + 1)) + d.d(t(j), t(j + 1)) - d.d(t(i), t(j)) - d.d(t(i + 1), t(j + 1));
                    assert!((cpu_gain - best).abs() <= tol, "n={n}: GPU move ({i}, {j}) gains {cpu_gain}, best {best}");
                    assert!((g as f64 - best).abs() <= tol, "n={n}: GPU says {g}, CPU best {best}");
                }
            }
        }
    }
}

/// Every tour the GPU search returns is a permutation, a 2-opt local optimum
/// (the CPU full scan finds no improving move above epsilon), reported with
/// its length, and the same again for the same seed, also when the rounds
/// run in slices (a cancel flag, never set, makes the batch slice them).
#[test]
fn ils_tours_are_2opt_optimal_permutations() {
    let Some(gpu) = gpu() else { return };
    let mut rng = fastrand::Rng::with_seed(5);
    for metric in [Metric::Haversine, Metric::Euclidean] {
        let cases: Vec<Case> = (0..24)
            .map(|k| {
                let n = 13 + k * 10;
                let pts = match (metric, k % 2) {
                    (Metric::Haversine, 0) => world(&mut rng, n),
                    (Metric::Haversine, _) => city(&mut rng, n),
                    _ => plane(&mut rng, n),
                };
                let mut tour: Vec<u32> = (0..n as u32).collect();
                rng.shuffle(&mut tour);
                case(pts, metric, tour)
            })
            .collect();
        let out = gpu.improve_batch(metric, &instances(&cases, 24, 7), None).expect("gpu ils");
        let never = AtomicBool::new(false);
        let again = gpu.improve_batch(metric, &instances(&cases, 24, 7), Some(&never)).expect("gpu ils, sliced");
        for ((c, t), t2) in cases.iter().zip(&out).zip(&again) {
            let n = c.points.len();
            let mut seen = vec![false; n];
            assert!(t.tour.len() == n && t.tour.iter().all(|&v| !std::mem::replace(&mut seen[v as usize], true)));
            let d = PointDist::new(metric, &c.points);
            let eps = 1e-5 * mean_edge(&d, &t.tour);
            assert!(
                reference::is_2opt_optimal(&d, &t.tour, eps),
                "n={n}: {:?}",
                reference::best_2opt_move(&d, &t.tour)
            );
            let len = mean_edge(&d, &t.tour) * n as f64;
            assert!((t.length as f64 - len).abs() <= 1e-4 * len, "n={n}: f32 length {} vs {len}", t.length);
            assert_eq!((t.rounds, t2.rounds), (24, 24));
            assert_eq!(t.tour, t2.tour, "n={n}: same seed, same tour, sliced or not");
        }
    }
}

/// Two tight clusters at opposite ends of the Earth: a round trip crosses
/// twice, on legs a few kilometres short of half the globe, where the
/// search's f32 distance needs the far-arc formula (asin(chord/2) alone is
/// kilometres off there). The length the search reports is checked against
/// the f64 one to 5e-6, far below that error.
#[test]
fn ils_lengths_hold_across_antipodes() {
    let Some(gpu) = gpu() else { return };
    let mut rng = fastrand::Rng::with_seed(6);
    let cases: Vec<Case> = (0..12)
        .map(|k| {
            let m = 8 + k;
            let (lat, lon) = (rng.f64() * 120.0 - 60.0, rng.f64() * 360.0 - 180.0);
            let mut pts = Vec::with_capacity(2 * m);
            for _ in 0..m {
                pts.push([lat + rng.f64() * 0.01, lon + rng.f64() * 0.01]);
            }
            // Up to about 3 km from the exact antipodes of the first cluster.
            for _ in 0..m {
                let far_lon = (lon + 360.0 + rng.f64() * 0.03).rem_euclid(360.0) - 180.0;
                pts.push([-lat - rng.f64() * 0.03, far_lon]);
            }
            let mut tour: Vec<u32> = (0..2 * m as u32).collect();
            rng.shuffle(&mut tour);
            case(pts, Metric::Haversine, tour)
        })
        .collect();
    let out = gpu.improve_batch(Metric::Haversine, &instances(&cases, 8, 3), None).expect("gpu ils");
    for (c, t) in cases.iter().zip(&out) {
        let n = c.points.len();
        let d = PointDist::new(Metric::Haversine, &c.points);
        let len = mean_edge(&d, &t.tour) * n as f64;
        assert!(len > 40_000.0, "n={n}: the tour crosses twice ({len} km)");
        assert!((t.length as f64 - len).abs() <= 5e-6 * len, "n={n}: f32 length {} vs {len}", t.length);
    }
}

/// A cancel flag already set ends a batch after its first slice (8 rounds),
/// each instance with a valid local optimum.
#[test]
fn a_cancelled_batch_stops_after_one_slice() {
    let Some(gpu) = gpu() else { return };
    let mut rng = fastrand::Rng::with_seed(13);
    let cases: Vec<Case> = (0..8)
        .map(|k| {
            let pts = plane(&mut rng, 30 + k);
            let tour = (0..pts.len() as u32).collect();
            case(pts, Metric::Euclidean, tour)
        })
        .collect();
    let set = AtomicBool::new(true);
    let out = gpu.improve_batch(Metric::Euclidean, &instances(&cases, u32::MAX, 3), Some(&set)).expect("gpu ils");
    for (c, t) in cases.iter().zip(&out) {
        assert!(t.rounds <= 8, "{} rounds after a cancel", t.rounds);
        let d = PointDist::new(Metric::Euclidean, &c.points);
        assert_permutation(&t.tour, c.points.len(), "a cancelled batch's tour");
        assert!(reference::is_2opt_optimal(&d, &t.tour, 1e-5 * mean_edge(&d, &t.tour)));
    }
}

/// A time limit ends a GPU batch whose rounds are unbounded (an explicit
/// limit means "search until then", as on the CPU): the batch returns, long
/// before the test's own two-minute guard, with valid tours from the GPU.
#[test]
fn a_time_limit_ends_a_gpu_batch() {
    let Some(gpu) = gpu() else { return };
    let mut rng = fastrand::Rng::with_seed(14);
    let problems: Vec<Problem> = (0..8).map(|_| Problem::round_trip(city(&mut rng, 50), Metric::Haversine)).collect();
    let engine = Engine::with_gpu(Arc::clone(&gpu));
    let (tx, rx) = std::sync::mpsc::channel();
    let batch = problems.clone();
    std::thread::spawn(move || {
        let budget = Budget { time_limit: Some(std::time::Duration::from_secs(1)), ..Default::default() };
        let _ = tx.send(engine.solve_batch(&batch, &budget));
    });
    let out = rx.recv_timeout(std::time::Duration::from_secs(120)).expect("the time limit did not end the batch");
    for (p, s) in problems.iter().zip(&out) {
        assert_eq!(s.backend, gpu.name());
        assert_permutation(&s.order, p.points.len(), "a time-limited batch's tour");
        assert!(s.kicks >= 1 && s.kicks < u32::MAX as u64, "{} rounds", s.kicks);
    }
}

/// Euclidean points spanning far less than 1 (their f32 squares underflow)
/// get on the GPU the tours the same points get at a larger scale: scaled
/// by a power of two, exactly the same tours.
#[test]
fn tiny_planar_points_get_the_same_tours_on_the_gpu() {
    let Some(gpu) = gpu() else { return };
    let mut rng = fastrand::Rng::with_seed(16);
    let points: Vec<Vec<[f64; 2]>> = (0..6).map(|k| plane(&mut rng, 20 + 10 * k)).collect();
    let budget = Budget { kicks: Some(20), seed: Some(3), ..Default::default() };
    let engine = Engine::with_gpu(Arc::clone(&gpu));
    let at = |scale: f64| {
        let problems: Vec<Problem> = points
            .iter()
            .map(|p| Problem::round_trip(p.iter().map(|q| [q[0] * scale, q[1] * scale]).collect(), Metric::Euclidean))
            .collect();
        engine.solve_batch(&problems, &budget)
    };
    let (one, tiny) = (at(1.0), at(2f64.powi(-90)));
    for (k, (a, b)) in one.iter().zip(&tiny).enumerate() {
        assert!(a.backend == gpu.name() && b.backend == gpu.name(), "{} {}", a.backend, b.backend);
        assert_eq!(a.order, b.order, "request {k}");
        assert!((b.length * 2f64.powi(90) - a.length).abs() <= 1e-9 * a.length, "request {k}");
    }
}

/// A batch runs its chunks of 4,096 instances one after another, and each
/// request's time limit counts from its own chunk's start: the 4,097th
/// request searches past the first slice of 8 rounds (it once found its
/// limit spent by the first chunk, and got those 8 rounds alone).
#[test]
fn each_chunk_of_a_batch_has_its_own_time_limit() {
    let Some(gpu) = gpu() else { return };
    let mut rng = fastrand::Rng::with_seed(15);
    let problems: Vec<Problem> =
        (0..4097).map(|_| Problem::round_trip(plane(&mut rng, 13), Metric::Euclidean)).collect();
    let budget = Budget { time_limit: Some(std::time::Duration::from_millis(300)), ..Default::default() };
    let out = Engine::with_gpu(Arc::clone(&gpu)).solve_batch(&problems, &budget);
    assert!(out.iter().all(|s| s.backend == gpu.name()));
    // (On lavapipe the first chunk's first slice alone outlasts the limit.)
    let last = &out[4096];
    assert!(last.kicks > 8, "{} rounds in the second chunk", last.kicks);
    assert!(last.elapsed >= std::time::Duration::from_millis(300), "{:?}", last.elapsed);
}

/// 1,000 random 50-point requests: the GPU's mean length is within 0.5% of
/// the CPU solver's (the CPU with its default budget, the GPU with 100 kick
/// rounds so that lavapipe finishes in about a minute).
#[test]
fn gpu_quality_matches_cpu_on_1000_instances() {
    let Some(gpu) = gpu() else { return };
    let mut rng = fastrand::Rng::with_seed(6);
    let problems: Vec<Problem> = (0..1000)
        .map(|_| {
            let pts = (0..50).map(|_| [30.0 + rng.f64() * 15.0, -120.0 + rng.f64() * 40.0]).collect();
            Problem::round_trip(pts, Metric::Haversine)
        })
        .collect();
    let on_gpu =
        Engine::with_gpu(Arc::clone(&gpu)).solve_batch(&problems, &Budget { kicks: Some(100), ..Default::default() });
    let on_cpu = Engine::new(Backend::Simd).solve_batch(&problems, &Budget::default());
    assert!(on_gpu.iter().all(|s| s.backend == gpu.name()));
    let g: f64 = on_gpu.iter().map(|s| s.length).sum::<f64>() / 1000.0;
    let c: f64 = on_cpu.iter().map(|s| s.length).sum::<f64>() / 1000.0;
    eprintln!("mean length: gpu {g:.3} km, cpu {c:.3} km ({:+.3}%)", (g / c - 1.0) * 100.0);
    assert!(g <= c * 1.005, "GPU mean {g} is more than 0.5% above the CPU's {c}");
}

/// The engine sends small round trips to the GPU's batch search, a larger
/// round trip through the GPU's large-tour 2-opt, and everything else to the
/// CPU; every answer starts at its start and its length is the sum of its legs.
#[test]
fn engine_routes_each_problem_to_its_backend() {
    let Some(gpu) = gpu() else { return };
    let mut rng = fastrand::Rng::with_seed(8);
    let mut problems = Vec::new();
    for k in 0..12 {
        let mut p = Problem::round_trip(city(&mut rng, 20 + k), Metric::Haversine);
        p.start = k;
        problems.push(p);
    }
    let mut open = Problem::round_trip(city(&mut rng, 30), Metric::Haversine);
    open.round_trip = false;
    problems.push(open);
    problems.push(Problem::round_trip(city(&mut rng, 6), Metric::Haversine));
    problems.push(Problem::round_trip(city(&mut rng, 30), Metric::Geodesic));
    problems.push(Problem::round_trip(city(&mut rng, 300), Metric::Haversine));
    let engine = Engine::with_gpu(Arc::clone(&gpu));
    assert_eq!(engine.backend(), Backend::Gpu);
    let out = engine.solve_batch(&problems, &Budget { kicks: Some(30), ..Default::default() });
    for (k, (p, s)) in problems.iter().zip(&out).enumerate() {
        assert_eq!(s.order.len(), p.points.len());
        assert_eq!(s.order[0], p.start);
        assert!((s.length - s.legs.iter().sum::<f64>()).abs() < 1e-9);
        let want = if k < 12 || k == 15 { gpu.name() } else { Backend::Simd.name() };
        assert_eq!(s.backend, want, "problem {k}");
    }
    assert!(out[13].optimal, "6 points are solved exactly on the CPU");
}

/// Copies of a place go to the GPU as one node and come back together; a
/// problem of 12 places or fewer, however many copies, is solved exactly
/// on the CPU. (Problems with copies once all went to the CPU.)
#[test]
fn copies_of_a_place_are_solved_on_the_gpu_together() {
    let Some(gpu) = gpu() else { return };
    let mut rng = fastrand::Rng::with_seed(23);
    let problems: Vec<Problem> = (0..6)
        .map(|k| {
            let places = if k == 5 { 10 } else { 20 + k };
            let mut pts = city(&mut rng, places);
            for _ in 0..8 {
                let copy = pts[rng.usize(..places)];
                pts.insert(rng.usize(..=pts.len()), copy);
            }
            let mut p = Problem::round_trip(pts, if k % 2 == 0 { Metric::Haversine } else { Metric::Euclidean });
            p.start = k;
            p
        })
        .collect();
    let budget = Budget { kicks: Some(200), ..Default::default() };
    let out = Engine::with_gpu(Arc::clone(&gpu)).solve_batch(&problems, &budget);
    let cpu = Engine::new(Backend::Simd).solve_batch(&problems, &budget);
    for (k, ((p, s), c)) in problems.iter().zip(&out).zip(&cpu).enumerate() {
        assert_permutation(&s.order, p.points.len(), &format!("problem {k}"));
        assert_eq!(s.order[0], p.start, "problem {k}");
        assert_eq!(s.legs.len(), p.points.len(), "problem {k}");
        assert!((s.length - s.legs.iter().sum::<f64>()).abs() < 1e-9, "problem {k}");
        // Each place's copies in one run: the route enters each place once.
        let place = |i: usize| p.points[i].map(f64::to_bits);
        let entered =
            (0..s.order.len()).filter(|&j| place(s.order[j]) != place(s.order[(j + 1) % s.order.len()])).count();
        let places: std::collections::HashSet<_> = (0..p.points.len()).map(place).collect();
        assert_eq!(entered, places.len(), "problem {k}: copies apart in {:?}", s.order);
        if k < 5 {
            assert_eq!(s.backend, gpu.name(), "problem {k}");
            assert!(s.length <= c.length * 1.02, "problem {k}: {} against the CPU's {}", s.length, c.length);
        } else {
            assert!(s.optimal && s.backend == Backend::Simd.name(), "10 places: exact, on the CPU");
        }
    }
}

/// A kick count wins over time limits on the GPU too: a batch whose requests
/// and call carry a 1 ns limit gives the same tours as without.
#[test]
fn gpu_kick_counts_win_over_time_limits() {
    let Some(gpu) = gpu() else { return };
    let mut rng = fastrand::Rng::with_seed(19);
    let problems: Vec<Problem> =
        (0..8).map(|k| Problem::round_trip(city(&mut rng, 120 + k), Metric::Haversine)).collect();
    let one_ns = Some(Duration::from_nanos(1));
    let clocked: Vec<Problem> = problems.iter().map(|p| Problem { time_limit: one_ns, ..p.clone() }).collect();
    let engine = Engine::with_gpu(Arc::clone(&gpu));
    let budget = Budget { kicks: Some(200), seed: Some(5), ..Default::default() };
    let free = engine.solve_batch(&problems, &budget);
    let cut = engine.solve_batch(&clocked, &Budget { time_limit: one_ns, ..budget.clone() });
    for (k, (a, b)) in free.iter().zip(&cut).enumerate() {
        assert_eq!((a.backend, b.backend), (gpu.name(), gpu.name()));
        assert_eq!(a.order, b.order, "problem {k}: a time limit cut the kicks");
    }
}

/// A real GPU failure inside a batch: a device opened with a 1 KiB storage
/// binding limit cannot bind the batch's buffers (a validation error), so
/// the engine solves that batch on the CPU, exactly as a CPU engine does.
#[test]
fn a_failing_gpu_batch_is_solved_on_the_cpu() {
    let Some(_) = gpu() else { return };
    let adapter = gpu::find_adapter().expect("an adapter (gpu() found one)");
    let limits = wgpu::Limits { max_storage_buffer_binding_size: 1024, ..wgpu::Limits::default() };
    let small = Arc::new(Gpu::with_limits(adapter, limits).expect("a device with lower limits"));
    let mut rng = fastrand::Rng::with_seed(12);
    let problems: Vec<Problem> =
        (0..16).map(|k| Problem::round_trip(city(&mut rng, 20 + k), Metric::Haversine)).collect();
    let budget = Budget { kicks: Some(30), seed: Some(4), ..Default::default() };
    // The same device kind with room runs the batch itself...
    let roomy = Engine::with_gpu(gpu().expect("checked above")).solve_batch(&problems, &budget);
    assert!(roomy.iter().all(|s| s.backend.starts_with("gpu")));
    // ...the cramped one fails it, and the CPU answers every problem.
    let points = city(&mut rng, 100); // 1.6 KB of points alone
    let neighbors = Neighbors::from_points(&PointDist::new(Metric::Haversine, &points), NEIGHBORS, 0, None);
    let one = SmallInstance {
        points: &points,
        neighbors: &neighbors,
        tour: (0..100).collect(),
        rounds: 1,
        stall: 0,
        seed: 1,
        limit: None,
        deadline: None,
    };
    let direct = small.improve_batch(Metric::Haversine, &[one], None);
    match direct {
        Err(gpu::GpuError::Failed(e)) => assert!(e.contains("binding"), "{e}"),
        other => panic!("a 1 KiB binding limit must fail the batch as a validation error: {other:?}"),
    }
    // A large round trip does not fit either: its 2-opt descent stays on the CPU.
    let mut problems = problems;
    problems.push(Problem::round_trip(city(&mut rng, 600), Metric::Haversine));
    let fallen = Engine::with_gpu(small).solve_batch(&problems, &budget);
    let cpu = Engine::new(Backend::Simd).solve_batch(&problems, &budget);
    for (k, (f, c)) in fallen.iter().zip(&cpu).enumerate() {
        assert_eq!(f.backend, Backend::Simd.name(), "problem {k}");
        assert_eq!(f.order, c.order, "problem {k}: the CPU's own tour");
        assert!((f.length - f.legs.iter().sum::<f64>()).abs() < 1e-9);
    }
}

fn route_optim(args: &[&str], env: &[(&str, &str)], stdin: &str) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_route-optim"));
    cmd.args(args)
        .env_remove("ROUTE_OPTIM_BACKEND")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn route-optim");
    // Written from another thread: the output is read while the input goes in.
    let mut input = child.stdin.take().expect("stdin");
    let stdin = stdin.to_string();
    let writer = std::thread::spawn(move || input.write_all(stdin.as_bytes()));
    let out = child.wait_with_output().expect("route-optim output");
    match writer.join().expect("stdin writer") {
        // A run that fails at start-up (`--backend gpu` with no adapter) may
        // exit before its input is written; the callers check its status.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe && !out.status.success() => {}
        written => written.expect("write stdin"),
    }
    out
}

/// The backend of each output: NDJSON lines, or one JSON array.
fn backends(stdout: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(stdout);
    let outputs: Vec<serde_json::Value> = match serde_json::from_str(&text) {
        Ok(serde_json::Value::Array(all)) => all,
        _ => text.lines().map(|l| serde_json::from_str(l).expect("prediction line")).collect(),
    };
    outputs.iter().map(|v| v["solver"]["backend"].as_str().expect("backend").to_string()).collect()
}

fn requests(rng: &mut fastrand::Rng, count: usize) -> String {
    (0..count).map(|_| format!("{}\n", serde_json::json!({ "coordinates": city(rng, 20) }))).collect()
}

/// `--backend gpu` solves on the GPU; the automatic backend solves a batch
/// large enough for the GPU there when the adapter is a graphics card, on
/// the CPU when it is a software driver (lavapipe) or hidden (no Vulkan
/// driver), from an NDJSON file as from a JSON array; and with the adapter
/// hidden `--backend gpu` is an error that says why.
#[test]
fn cli_falls_back_to_cpu_with_the_adapter_hidden() {
    let Some(gpu) = gpu() else { return };
    let mut rng = fastrand::Rng::with_seed(9);
    let hidden = [("VK_DRIVER_FILES", "/nonexistent.json"), ("VK_ICD_FILENAMES", "/nonexistent.json")];

    let few = requests(&mut rng, 8);
    let seen = route_optim(&["solve", "--backend", "gpu", "--ndjson", "--iterations", "20", "-"], &[], &few);
    assert!(seen.status.success(), "{}", String::from_utf8_lossy(&seen.stderr));
    assert!(backends(&seen.stdout).iter().all(|b| b == gpu.name()), "{:?}", backends(&seen.stdout));

    let many = requests(&mut rng, GPU_MIN_BATCH);
    let dir = tempfile::tempdir().expect("temp dir");
    let (lines, array) = (dir.path().join("many.ndjson"), dir.path().join("many.json"));
    std::fs::write(&lines, &many).unwrap();
    std::fs::write(&array, format!("[{}]", many.trim_end().replace('\n', ","))).unwrap();
    let automatic = if gpu.is_hardware() { gpu.name() } else { Backend::Simd.name() };
    for (env, expect) in [(&[][..], automatic), (&hidden[..], Backend::Simd.name())] {
        for file in [&lines, &array] {
            let out = route_optim(&["solve", "--iterations", "5", file.to_str().unwrap()], env, "");
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            let b = backends(&out.stdout);
            assert_eq!(b.len(), GPU_MIN_BATCH);
            assert!(b.iter().all(|b| b == expect), "{file:?} with {env:?}: {:?}, not {expect}", &b[..3]);
        }
    }

    let forced = route_optim(&["solve", "--backend", "gpu", "--ndjson", "-"], &hidden, &few);
    assert!(!forced.status.success());
    let err = String::from_utf8_lossy(&forced.stderr);
    assert!(err.contains("backend gpu") && err.contains("adapter"), "{err}");
    // The same through the environment, with and without the adapter.
    let env_gpu = [("ROUTE_OPTIM_BACKEND", "gpu")];
    let seen = route_optim(&["solve", "--ndjson", "--iterations", "20", "-"], &env_gpu, &few);
    assert!(seen.status.success(), "{}", String::from_utf8_lossy(&seen.stderr));
    assert!(backends(&seen.stdout).iter().all(|b| b == gpu.name()), "{:?}", backends(&seen.stdout));
    let forced = route_optim(&["solve", "--ndjson", "-"], &[env_gpu[0], hidden[0], hidden[1]], &few);
    assert!(!forced.status.success());
    let err = String::from_utf8_lossy(&forced.stderr);
    assert!(err.contains("backend gpu") && err.contains("adapter"), "{err}");

    let info = route_optim(&["info"], &[], "");
    let text = String::from_utf8_lossy(&info.stdout);
    let solve = if gpu.is_hardware() { gpu.name() } else { Backend::Simd.name() };
    assert!(text.contains(&gpu.adapter_info().name), "{text}");
    assert!(text.contains(&format!("solve backend: {solve}")), "{text}");
}

/// `gpu::shared` (the automatic engine's device) finds the adapter a fresh
/// probe finds when it is a graphics card, and none when it is a software
/// driver (lavapipe).
#[test]
fn shared_probe_finds_the_same_adapter() {
    let Some(g) = gpu() else { return };
    let shared = gpu::shared();
    assert_eq!(shared.map(|s| s.adapter_info().name.clone()), g.is_hardware().then(|| g.adapter_info().name.clone()));
}

/// A large tour's problem for the large-tour 2-opt: points, neighbour lists
/// as the engine builds them off the matrix path, and the greedy tour.
fn large(points: Vec<[f64; 2]>, metric: Metric) -> (Vec<[f64; 2]>, Neighbors, Vec<u32>) {
    let d = PointDist::new(metric, &points);
    let nb = Neighbors::from_points(&d, NEIGHBORS, QUADRANT_NEIGHBORS, None);
    let tour = construct::greedy_edge(&d, &nb, d.embedding(), &[]);
    (points, nb, tour)
}

/// Each node's move proposed by `two_opt_large.wgsl` is the CPU reference's
/// best neighbour-list move of that node (or gains as much: a tie), and the
/// GPU proposes a move for every node where the reference finds one that
/// gains clearly more than f32 noise. On random tours (long edges, large
/// gains) and on greedy tours (short edges, small gains).
#[test]
fn large_tour_proposals_equal_the_cpu_reference() {
    let Some(gpu) = gpu() else { return };
    let mut rng = fastrand::Rng::with_seed(15);
    for (n, shuffled) in [(300, true), (2000, true), (2000, false), (7, true)] {
        let (points, nb, mut tour) = large(plane(&mut rng, n), Metric::Euclidean);
        if shuffled {
            rng.shuffle(&mut tour);
        }
        let d = PointDist::new(Metric::Euclidean, &points);
        let tol = 1e-5 * mean_edge(&d, &tour);
        let want = reference::best_list_2opt_moves(&d, &nb, &tour, 0.0);
        let got = gpu.two_opt_proposals(Metric::Euclidean, &points, &nb, &tour).expect("gpu proposals");
        let mut by_node = vec![None; n];
        for p in &got {
            assert!(by_node[p.node as usize].replace(p).is_none(), "n={n}: node {} proposed twice", p.node);
        }
        let t = |k: usize| tour[k % n] as usize;
        let gain =
            |i: usize, j: usize| d.d(t(i), t(i + 1)) + d.d(t(j), t(j + 1)) - d.d(t(i), t(j)) - d.d(t(i + 1), t(j + 1));
        let mut matched = 0;
        for (a, (w, g)) in want.iter().zip(&by_node).enumerate() {
            match (w, g) {
                (Some((i, j, best)), Some(p)) => {
                    let (pi, pj) = (p.i as usize, p.j as usize);
                    assert!(pi < pj && pj < n, "n={n}: node {a} proposes ({pi}, {pj})");
                    if (pi, pj) != (*i, *j) {
                        assert!(
                            (gain(pi, pj) - best).abs() <= tol,
                            "n={n}: node {a}: GPU ({pi}, {pj}) vs CPU ({i}, {j})"
                        );
                    }
                    assert!((p.gain as f64 - best).abs() <= tol, "n={n}: node {a}: GPU gain {} vs {best}", p.gain);
                    matched += 1;
                }
                (Some((_, _, best)), None) => assert!(*best <= tol, "n={n}: node {a}: the GPU missed a gain of {best}"),
                (None, Some(p)) => panic!("n={n}: node {a}: the GPU proposes {p:?}, the CPU nothing"),
                (None, None) => {}
            }
        }
        assert!(n < 10 || matched > n / 20, "n={n}: only {matched} nodes with a move");
    }
}

/// The GPU's 2-opt descent of a greedy tour, run until a pass applies
/// nothing: a permutation, shorter by exactly the gain it reports, and a
/// neighbour-list 2-opt optimum by the CPU reference (no move gains more
/// than f32 noise), on lat/lon points (chords on the GPU, haversine on the
/// host) and on the plane.
#[test]
fn large_tour_descent_reaches_a_2opt_optimum() {
    let Some(gpu) = gpu() else { return };
    let mut rng = fastrand::Rng::with_seed(16);
    let us = |rng: &mut fastrand::Rng, n: usize| -> Vec<[f64; 2]> {
        (0..n).map(|_| [25.0 + rng.f64() * 24.0, -124.0 + rng.f64() * 57.0]).collect()
    };
    for (metric, points) in [(Metric::Haversine, us(&mut rng, 3000)), (Metric::Euclidean, plane(&mut rng, 3000))] {
        let (points, nb, start) = large(points, metric);
        let d = PointDist::new(metric, &points);
        let mut tour = start.clone();
        let done = gpu
            .two_opt_descent(&d, metric, &points, &nb, &mut tour, Until { min_moves: 1, deadline: None, cancel: None })
            .expect("gpu descent");
        assert_permutation(&tour, 3000, "the descended tour");
        let (before, after) = (local::tour_length(&d, &start), local::tour_length(&d, &tour));
        assert!(done.applied > 0 && done.passes > 1, "{done:?}");
        assert!((before - done.gain - after).abs() <= 1e-9 * before, "{metric:?}: {before} - {} != {after}", done.gain);
        let tol = 1e-5 * mean_edge(&d, &tour);
        let left: Vec<_> = reference::best_list_2opt_moves(&d, &nb, &tour, tol).into_iter().flatten().collect();
        assert!(left.is_empty(), "{metric:?}: {} improving moves left, e.g. {:?}", left.len(), left[0]);
        eprintln!("{metric:?}: {done:?}, {:.2}% shorter", (1.0 - after / before) * 100.0);
    }
}

/// A descent cancelled (Ctrl-C) before it starts makes no pass.
#[test]
fn a_cancelled_large_descent_makes_no_pass() {
    let Some(gpu) = gpu() else { return };
    let mut rng = fastrand::Rng::with_seed(18);
    let (points, nb, start) = large(plane(&mut rng, 3000), Metric::Euclidean);
    let d = PointDist::new(Metric::Euclidean, &points);
    let mut tour = start.clone();
    let cancel = AtomicBool::new(true);
    let until = Until { min_moves: 1, deadline: None, cancel: Some(&cancel) };
    let done = gpu.two_opt_descent(&d, Metric::Euclidean, &points, &nb, &mut tour, until).expect("gpu descent");
    assert_eq!(done.passes, 0);
    assert!(tour == start, "the tour changed");
}

/// A round trip too large for the batch shader takes the GPU's 2-opt
/// descent when the engine has a GPU: the solution says so, is a tour from
/// its start whose length is the sum of its legs, and is as good as the CPU
/// engine's with the same kicks (within 1%).
#[test]
fn engine_descends_large_tours_on_the_gpu() {
    let Some(gpu) = gpu() else { return };
    let mut rng = fastrand::Rng::with_seed(17);
    let mut p = Problem::round_trip(plane(&mut rng, 4 * GPU_MAX_N), Metric::Euclidean);
    p.start = 17;
    let budget = Budget { kicks: Some(2000), seed: Some(3), ..Default::default() };
    let on_gpu = Engine::with_gpu(Arc::clone(&gpu)).solve(&p, &budget);
    let on_cpu = Engine::new(Backend::Simd).solve(&p, &budget);
    assert_eq!(on_gpu.backend, gpu.name());
    assert_eq!(on_gpu.order[0], 17);
    assert_permutation(&on_gpu.order, p.points.len(), "the GPU's large tour");
    assert!((on_gpu.length - on_gpu.legs.iter().sum::<f64>()).abs() < 1e-9 * on_gpu.length);
    eprintln!("gpu {} cpu {} ({:+.3}%)", on_gpu.length, on_cpu.length, (on_gpu.length / on_cpu.length - 1.0) * 100.0);
    assert!(on_gpu.length <= on_cpu.length * 1.01, "gpu {} vs cpu {}", on_gpu.length, on_cpu.length);
}

/// An automatic engine starts a round trip of DESCENT_MIN_N points with the
/// GPU's descent on a graphics card only: on a software driver (lavapipe in
/// CI), which the CPU outruns, the whole solve stays on the CPU.
#[test]
fn automatic_engine_descends_large_tours_only_on_a_real_gpu() {
    let Some(gpu) = gpu() else { return };
    let software = matches!(gpu.adapter_info().device_type, wgpu::DeviceType::Cpu);
    assert_eq!(gpu.is_hardware(), !software, "{:?}", gpu.adapter_info());
    let mut rng = fastrand::Rng::with_seed(18);
    let p = Problem::round_trip(plane(&mut rng, DESCENT_MIN_N), Metric::Euclidean);
    let s = Engine::choose(None).expect("automatic engine").solve(&p, &Budget { kicks: Some(0), ..Default::default() });
    let expected = if software { Backend::Simd.name() } else { gpu.name() };
    assert_eq!(s.backend, expected);
    assert_permutation(&s.order, p.points.len(), "the automatic engine's tour");
}
