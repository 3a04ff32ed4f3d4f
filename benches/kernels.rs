//! Kernel benchmarks: distance matrices (scalar vs SIMD), one local-search
//! pass from the greedy-edge tour, and the end-to-end cost of a small solve.
//!
//! `gpu_matrix` and `gpu_batch` put the backend in the benchmark id
//! (`cpu-simd-avx2` vs `gpu-vulkan`); without an adapter only the CPU runs.
//! On lavapipe the GPU rows only show that the path runs.
//!
//! `cargo bench --bench kernels` (add `-- --quick` for a fast smoke run).

use aws_lambda_events::event::kinesis::KinesisEvent;
use base64::Engine as _;
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, SamplingMode, Throughput};
use route_optim::lambda::answer;
use route_optim::matrix::{simd_backend_name, DistMatrix};
use route_optim::metric::Metric;
use route_optim::solver::construct::greedy_edge;
use route_optim::solver::local::Search;
use route_optim::solver::neighbors::Neighbors;
use route_optim::solver::{Backend, Budget, Engine, PointDist, Problem, NEIGHBORS};
use std::hint::black_box;
use std::time::Duration;

/// `n` random `[lat, lon]` points, lat in [-60, 70], lon in [-180, 180].
fn geo_points(seed: u64, n: usize) -> Vec<[f64; 2]> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..n).map(|_| [rng.f64() * 130.0 - 60.0, rng.f64() * 360.0 - 180.0]).collect()
}

/// `n` random planar points in a 10 000 × 10 000 square.
fn plane_points(seed: u64, n: usize) -> Vec<[f64; 2]> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..n).map(|_| [rng.f64() * 1e4, rng.f64() * 1e4]).collect()
}

fn distance_matrix(c: &mut Criterion) {
    let mut group = c.benchmark_group("distance_matrix");
    group.warm_up_time(Duration::from_millis(500));
    for n in [100usize, 1000, 4000] {
        let pts = geo_points(0xd157, n);
        group.throughput(Throughput::Elements((n * n) as u64));
        // The scalar 4000² matrix takes most of a second per iteration: flat
        // sampling, 10 samples, and a target long enough for 2 iterations a
        // sample (criterion warns at 1).
        let (samples, scalar_time, simd_time) = if n >= 4000 { (10, 8, 3) } else { (20, 2, 2) };
        group.sample_size(samples);
        group.sampling_mode(if n >= 4000 { SamplingMode::Flat } else { SamplingMode::Auto });
        group.measurement_time(Duration::from_secs(scalar_time));
        group.bench_with_input(BenchmarkId::new("scalar", n), &pts, |b, pts| {
            b.iter(|| DistMatrix::scalar(Metric::Haversine, black_box(pts)))
        });
        group.measurement_time(Duration::from_secs(simd_time));
        group.bench_with_input(BenchmarkId::new(simd_backend_name(), n), &pts, |b, pts| {
            b.iter(|| DistMatrix::simd(Metric::Haversine, black_box(pts)))
        });
    }
    group.finish();
}

fn local_search(c: &mut Criterion) {
    let mut group = c.benchmark_group("local_search");
    group.warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3)).sample_size(20);
    for n in [200usize, 1000] {
        // Matrix, neighbour lists and the greedy tour are built once, outside
        // the timing; each iteration starts from a fresh copy of the greedy tour.
        let pts = plane_points(0x1005, n);
        let m = DistMatrix::simd(Metric::Euclidean, &pts);
        let nb = Neighbors::from_matrix(&m, NEIGHBORS);
        let greedy = greedy_edge(&m, &nb, PointDist::new(Metric::Euclidean, &pts).embedding(), &[]);
        // Once, untimed: the pass must actually improve the greedy tour.
        let mut check = Search::new(&m, &nb, greedy.clone(), None);
        let start = check.length;
        check.push_all();
        check.optimize();
        assert!(check.length < start, "local search did not improve the greedy tour ({start} -> {})", check.length);
        eprintln!(
            "local_search n={n}: greedy {start:.0} -> local optimum {:.0} ({:+.1}%)",
            check.length,
            100.0 * (check.length / start - 1.0)
        );
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(BenchmarkId::new("2opt_oropt_from_greedy", n), |b| {
            b.iter_batched(
                || Search::new(&m, &nb, greedy.clone(), None),
                |mut s| {
                    s.push_all();
                    s.optimize();
                    black_box(s.length);
                    // Returned so that it is dropped outside the timing.
                    s
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

fn solve_small(c: &mut Criterion) {
    let mut group = c.benchmark_group("solve_small");
    group.warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3)).sample_size(20);
    let engine = Engine::new(Backend::Simd);
    let budget = Budget::default();
    for n in [10usize, 20] {
        let problem = Problem::round_trip(geo_points(0x5a11 + n as u64, n), Metric::Haversine);
        group.bench_with_input(BenchmarkId::new("haversine_round_trip", n), &problem, |b, p| {
            b.iter(|| black_box(engine.solve(black_box(p), &budget).length))
        });
    }
    group.finish();
}

/// The Lambda handler's work for one batch, writing excluded: decode 100
/// records of 20 stops, solve them, encode the outputs; on one core.
fn lambda_batch(c: &mut Criterion) {
    let mut rng = fastrand::Rng::with_seed(100);
    let records: Vec<serde_json::Value> = (0..100)
        .map(|k| {
            let coords: Vec<[f64; 2]> = (0..20).map(|_| [25.0 + rng.f64() * 24.0, -124.0 + rng.f64() * 57.0]).collect();
            let data = serde_json::json!({"id": k, "coordinates": coords}).to_string();
            serde_json::json!({
                "kinesis": {"partitionKey": "1", "sequenceNumber": format!("{k:056}"),
                            "data": base64::engine::general_purpose::STANDARD.encode(data),
                            "approximateArrivalTimestamp": 1.7e9, "kinesisSchemaVersion": "1.0"},
                "eventSource": "aws:kinesis", "eventID": format!("shardId-000000000000:{k:056}"),
                "eventSourceARN": "arn:aws:kinesis:us-east-1:000000000000:stream/requests",
            })
        })
        .collect();
    let event: KinesisEvent = serde_json::from_value(serde_json::json!({"Records": records})).expect("event");
    let engine = Engine::new(Backend::Simd);
    let one_core = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("thread pool");
    let mut group = c.benchmark_group("lambda_batch");
    group.sample_size(20).measurement_time(Duration::from_secs(5));
    group.bench_function("100x20_stops_one_core", |b| {
        b.iter_batched(
            || event.clone(),
            |ev| one_core.install(|| black_box(answer(ev, &engine, &Budget::default()))),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

/// This machine's GPU, if any.
fn gpu() -> Option<std::sync::Arc<route_optim::gpu::Gpu>> {
    route_optim::gpu::Gpu::probe().ok().map(std::sync::Arc::new)
}

fn gpu_matrix(c: &mut Criterion) {
    let gpu = gpu();
    let mut group = c.benchmark_group("gpu_matrix");
    group.warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3)).sample_size(10);
    for n in [1000usize, 4000] {
        let pts = geo_points(0xd157, n);
        group.throughput(Throughput::Elements((n * n) as u64));
        group.bench_with_input(BenchmarkId::new(simd_backend_name(), n), &pts, |b, pts| {
            b.iter(|| DistMatrix::simd(Metric::Haversine, black_box(pts)))
        });
        if let Some(g) = &gpu {
            group.bench_with_input(BenchmarkId::new(g.name(), n), &pts, |b, pts| {
                b.iter(|| g.distance_matrix(Metric::Haversine, black_box(pts)).expect("gpu matrix"))
            });
        }
    }
    // The kernel alone (no transfer back), in bytes written per second: the
    // figure to compare with the card's memory bandwidth.
    if let Some(g) = &gpu {
        let n = 20_000usize;
        let pts = geo_points(0xd157, n);
        if let Ok(dm) = g.matrix_on_device(Metric::Haversine, &pts, u64::MAX) {
            group.throughput(Throughput::Bytes((n * n.div_ceil(8) * 8 * 4) as u64));
            group.bench_function(BenchmarkId::new(format!("{}-kernel-only", g.name()), n), |b| {
                b.iter(|| dm.compute(g).expect("gpu matrix"))
            });
        }
    }
    group.finish();
}

fn gpu_batch(c: &mut Criterion) {
    let gpu = gpu();
    let mut group = c.benchmark_group("gpu_batch");
    group.warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(5)).sample_size(10);
    let budget = Budget { kicks: Some(100), ..Default::default() };
    for count in [64usize, 1000] {
        let problems: Vec<Problem> =
            (0..count).map(|k| Problem::round_trip(plane_points(k as u64, 100), Metric::Euclidean)).collect();
        group.throughput(Throughput::Elements(count as u64));
        let cpu = Engine::new(Backend::Simd);
        group.bench_with_input(BenchmarkId::new(simd_backend_name(), count), &problems, |b, p| {
            b.iter(|| cpu.solve_batch(black_box(p), &budget))
        });
        if let Some(g) = &gpu {
            let engine = Engine::with_gpu(std::sync::Arc::clone(g));
            group.bench_with_input(BenchmarkId::new(g.name(), count), &problems, |b, p| {
                b.iter(|| engine.solve_batch(black_box(p), &budget))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, distance_matrix, local_search, solve_small, lambda_batch, gpu_matrix, gpu_batch);
criterion_main!(benches);
