use route_optim::metric::Metric;
use route_optim::matrix::DistMatrix;
use route_optim::solver::*;
#[test]
fn info() {
    let e = Engine::new(Backend::Simd);
    let mut rng = fastrand::Rng::with_seed(19);
    for &n in &[50, 75, 100, 130, 160, 200] {
        let pts: Vec<[f64;2]> = (0..n).map(|_| [rng.f64()*1000.0, rng.f64()*1000.0]).collect();
        let p = Problem::round_trip(pts.clone(), Metric::Euclidean);
        let s = e.solve(&p, &Budget{kicks: Some(0), seed: Some(1), ..Default::default()});
        let m = DistMatrix::scalar(Metric::Euclidean, &pts);
        let order: Vec<u32> = s.order.iter().map(|&v| v as u32).collect();
        println!("n={n} len={:.1} best move {:?}", s.length, reference::best_2opt_move(&m, &order));
    }
    let mut rng = fastrand::Rng::with_seed(14);
    for n in 13..=15 {
        for metric in [Metric::Euclidean, Metric::Haversine] {
            let pts: Vec<[f64;2]> = match metric { Metric::Euclidean => (0..n).map(|_| [rng.f64()*1000.0, rng.f64()*1000.0]).collect(), _ => (0..n).map(|_| [40.0 + rng.f64() * 5.0, -90.0 + rng.f64() * 7.0]).collect() };
            let start = rng.usize(..n);
            let end = (start + 1 + rng.usize(..n - 1)) % n;
            for (round_trip, start, end) in [(true, start, None), (false, start, None), (false, start, Some(end))] {
                let p = Problem { points: pts.clone(), metric, round_trip, start, end, time_limit: None, seed: None };
                let s = e.solve(&p, &Budget{kicks: Some(3000), seed: Some(1), ..Default::default()});
                let d = |i: usize, j: usize| metric.dist(pts[i], pts[j]);
                let (_, best) = exact::held_karp(n, d, start, end, round_trip);
                println!("n={n} {metric:?} rt={round_trip} end={end:?} ratio {}", s.length / best);
            }
        }
    }
}
