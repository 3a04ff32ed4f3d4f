//! Integration tests of the library's solver: validity of every solution,
//! optimality on small instances (against brute force computed here), known
//! TSPLIB optima, reproducibility, backend agreement and the 2-opt reference.
//!
//! Run in release (`cargo test --release --test solver`): the heuristic tests
//! use fixed kick budgets, so they are deterministic and not time-dependent.

use route_optim::matrix::DistMatrix;
use route_optim::metric::{tour_legs, Metric, Tsplib};
use route_optim::solver::{exact, reference, Backend, Budget, Engine, Problem, Solution, DEFAULT_SEED, MATRIX_MAX_N};
use route_optim::tsplib;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

const TSPLIB_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/tsplib/");

fn engine() -> Engine {
    Engine::new(Backend::Simd)
}

fn kicks(n: u64, seed: u64) -> Budget {
    Budget { kicks: Some(n), seed: Some(seed), ..Default::default() }
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-12)
}

/// The length of `order` from the metric, closed when `round_trip`, summed
/// here independently of `tour_legs`.
fn length_of(p: &Problem, order: &[usize]) -> f64 {
    let mut len: f64 = order.windows(2).map(|w| p.metric.dist(p.points[w[0]], p.points[w[1]])).sum();
    if p.round_trip && order.len() > 1 {
        len += p.metric.dist(p.points[order[order.len() - 1]], p.points[order[0]]);
    }
    len
}

/// Everything a solution must satisfy whatever the solver did.
fn check(p: &Problem, s: &Solution) {
    let n = p.points.len();
    let ctx = format!("n={n} round_trip={} start={} end={:?} metric={:?}", p.round_trip, p.start, p.end, p.metric);
    assert_eq!(s.order.len(), n, "{ctx}: order has {} entries", s.order.len());
    let mut seen = vec![false; n];
    for &v in &s.order {
        assert!(v < n, "{ctx}: node {v} out of range");
        assert!(!seen[v], "{ctx}: node {v} visited twice");
        seen[v] = true;
    }
    if n > 0 {
        assert_eq!(s.order[0], p.start, "{ctx}: does not start at start");
    }
    if !p.round_trip {
        if let Some(e) = p.end {
            assert_eq!(*s.order.last().unwrap(), e, "{ctx}: does not end at end");
        }
    }
    let want_legs = if p.round_trip { n } else { n.saturating_sub(1) };
    assert_eq!(s.legs.len(), want_legs, "{ctx}: legs");
    let sum: f64 = s.legs.iter().sum();
    assert!(s.length.is_sign_positive(), "{ctx}: length {} is negative", s.length);
    assert!(close(s.length, sum, 1e-9), "{ctx}: length {} != sum of legs {sum}", s.length);
    let recomputed = length_of(p, &s.order);
    assert!(close(s.length, recomputed, 1e-9), "{ctx}: length {} != recomputed {recomputed}", s.length);
    // The legs are the library's own, exactly.
    assert_eq!(s.legs, tour_legs(p.metric, &p.points, &s.order, p.round_trip), "{ctx}: legs differ from tour_legs");
    // Each leg is the metric distance between consecutive stops, or 0 for
    // one place on the globe spelled two ways (a pole at two longitudes:
    // about 1e-13).
    for (k, &leg) in s.legs.iter().enumerate() {
        let (a, b) = (s.order[k], s.order[(k + 1) % n]);
        let d = p.metric.dist(p.points[a], p.points[b]);
        let one_place = p.metric.is_geographic() && p.metric.place(p.points[a]) == p.metric.place(p.points[b]);
        assert!(
            if one_place { leg == 0.0 && d < 1e-9 } else { close(leg, d, 1e-12) },
            "{ctx}: leg {k} is {leg}, distance {a}->{b} is {d}"
        );
    }
}

fn random_points(rng: &mut fastrand::Rng, n: usize, metric: Metric) -> Vec<[f64; 2]> {
    match metric {
        // A region a few hundred km across, like a delivery area.
        Metric::Haversine | Metric::Geodesic => {
            (0..n).map(|_| [40.0 + rng.f64() * 5.0, -90.0 + rng.f64() * 7.0]).collect()
        }
        _ => (0..n).map(|_| [rng.f64() * 1000.0, rng.f64() * 1000.0]).collect(),
    }
}

fn problem(points: Vec<[f64; 2]>, metric: Metric, round_trip: bool, start: usize, end: Option<usize>) -> Problem {
    Problem { points, metric, round_trip, start, end, time_limit: None, seed: None }
}

/// The optimum by trying every order of the nodes other than `start` (and
/// `end` when fixed).
fn brute_force(p: &Problem) -> f64 {
    let n = p.points.len();
    let dm: Vec<Vec<f64>> = (0..n).map(|i| (0..n).map(|j| p.metric.dist(p.points[i], p.points[j])).collect()).collect();
    let end = if p.round_trip { None } else { p.end };
    let mut free: Vec<usize> = (0..n).filter(|&v| v != p.start && Some(v) != end).collect();
    let mut best = f64::INFINITY;
    // Heap's algorithm over `free`.
    let eval = |free: &[usize]| {
        let mut route = vec![p.start];
        route.extend_from_slice(free);
        route.extend(end);
        let mut len: f64 = route.windows(2).map(|w| dm[w[0]][w[1]]).sum();
        if p.round_trip && route.len() > 1 {
            len += dm[route[route.len() - 1]][route[0]];
        }
        len
    };
    let k = free.len();
    let mut c = vec![0usize; k];
    best = best.min(eval(&free));
    let mut i = 1;
    while i < k {
        if c[i] < i {
            if i % 2 == 0 {
                free.swap(0, i);
            } else {
                free.swap(c[i], i);
            }
            best = best.min(eval(&free));
            c[i] += 1;
            i = 1;
        } else {
            c[i] = 0;
            i += 1;
        }
    }
    best
}

/// Round trips, open paths with and without a fixed end, from random starts.
fn small_configs(rng: &mut fastrand::Rng, n: usize) -> Vec<(bool, usize, Option<usize>)> {
    let start = rng.usize(..n);
    let other = (start + 1 + rng.usize(..n.max(2) - 1)) % n;
    let mut v = vec![(true, 0, None), (true, start, None), (false, start, None)];
    if n > 1 {
        v.push((false, start, Some(other)));
    }
    v
}

#[test]
fn brute_force_helper_is_right_on_a_square() {
    // Unit square: the best tour is the perimeter (4), the best path from a
    // corner 3, the best path between opposite corners 2 + √2 (a diagonal is unavoidable),
    // between adjacent corners 3 (round the other three sides).
    let sq = vec![[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]];
    let e = Metric::Euclidean;
    assert!(close(brute_force(&problem(sq.clone(), e, true, 0, None)), 4.0, 1e-12));
    assert!(close(brute_force(&problem(sq.clone(), e, false, 2, None)), 3.0, 1e-12));
    assert!(close(brute_force(&problem(sq.clone(), e, false, 0, Some(2))), 2.0 + 2f64.sqrt(), 1e-12));
    assert!(close(brute_force(&problem(sq.clone(), e, false, 0, Some(1))), 3.0, 1e-12));
    // Points on a line: the path from one end is the span, the round trip twice it.
    let line: Vec<[f64; 2]> = [0.0, 7.0, 2.0, 5.0, 1.0].iter().map(|&x| [x, 0.0]).collect();
    assert!(close(brute_force(&problem(line.clone(), e, false, 0, None)), 7.0, 1e-12));
    assert!(close(brute_force(&problem(line.clone(), e, true, 3, None)), 14.0, 1e-12));
    // From the middle (x = 2) to x = 5: go down to 0 first, then up to 7 and back: 2 + 7 + 2.
    assert!(close(brute_force(&problem(line, e, false, 2, Some(3))), 11.0, 1e-12));
}

#[test]
fn small_instances_are_optimal_against_brute_force() {
    let engine = engine();
    let mut rng = fastrand::Rng::with_seed(11);
    for n in 1..=9 {
        for metric in [Metric::Euclidean, Metric::Haversine, Metric::Geodesic] {
            let pts = random_points(&mut rng, n, metric);
            for (round_trip, start, end) in small_configs(&mut rng, n) {
                let p = problem(pts.clone(), metric, round_trip, start, end);
                let s = engine.solve(&p, &Budget::default());
                check(&p, &s);
                assert!(s.optimal, "n={n}: exact solver not flagged optimal");
                assert_eq!(s.kicks, 0);
                let best = brute_force(&p);
                assert!(
                    close(s.length, best, 1e-9),
                    "n={n} {metric:?} rt={round_trip} start={start} end={end:?}: {} vs brute force {best}",
                    s.length
                );
            }
        }
    }
}

/// Near antipodes the exact solver's distances and the reported legs once
/// disagreed by up to 0.3 m, and this tour, 0.17 m longer than another by its
/// own legs then (8 mm in exact arithmetic), was printed `optimal` (found by
/// an audit). The two formulas now agree to about 1e-11 km.
#[test]
fn optimal_near_antipodes_is_optimal_by_the_reported_legs() {
    let pts = vec![
        [27.917504697, -53.947287684],
        [-27.917504546, 126.052712131],
        [65.222821157, -53.947287403],
        [79.781391448, -53.947287779],
    ];
    let p = problem(pts, Metric::Haversine, true, 0, None);
    let s = engine().solve(&p, &Budget::default());
    check(&p, &s);
    let best = brute_force(&p);
    assert!(s.optimal && s.length <= best + 1e-9, "{:?}: {} km, brute force {best} km", s.order, s.length);
}

#[test]
fn instances_of_10_to_12_are_optimal_against_held_karp() {
    let engine = engine();
    let mut rng = fastrand::Rng::with_seed(12);
    for n in 10..=12 {
        for metric in [Metric::Euclidean, Metric::Haversine] {
            let pts = random_points(&mut rng, n, metric);
            for (round_trip, start, end) in small_configs(&mut rng, n) {
                let p = problem(pts.clone(), metric, round_trip, start, end);
                let s = engine.solve(&p, &Budget::default());
                check(&p, &s);
                assert!(s.optimal, "n={n}: not flagged optimal");
                let d = |i: usize, j: usize| metric.dist(pts[i], pts[j]);
                let (_, best) = exact::held_karp(n, d, start, end, round_trip);
                assert!(close(s.length, best, 1e-9), "n={n} rt={round_trip} end={end:?}: {} vs {best}", s.length);
            }
        }
    }
}

/// Nearest neighbour from `start` (to `end` last when fixed): a construction
/// the local search must never end up worse than on these instances.
fn nearest_neighbour(p: &Problem) -> f64 {
    let n = p.points.len();
    let end = if p.round_trip { None } else { p.end };
    let mut left: Vec<usize> = (0..n).filter(|&v| v != p.start && Some(v) != end).collect();
    let mut route = vec![p.start];
    while !left.is_empty() {
        let here = p.points[*route.last().unwrap()];
        let (k, _) = left
            .iter()
            .enumerate()
            .map(|(k, &v)| (k, p.metric.dist(here, p.points[v])))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap();
        route.push(left.swap_remove(k));
    }
    route.extend(end);
    length_of(p, &route)
}

#[test]
fn heuristic_solutions_are_valid_for_every_shape() {
    let engine = engine();
    let mut rng = fastrand::Rng::with_seed(13);
    for &n in &[13, 14, 17, 25, 60, 150, 300] {
        for metric in [Metric::Haversine, Metric::Euclidean] {
            let pts = random_points(&mut rng, n, metric);
            let start = rng.usize(..n);
            let end = (start + 1 + rng.usize(..n - 1)) % n;
            for (round_trip, start, end) in
                [(true, 0, None), (true, start, None), (false, start, None), (false, start, Some(end))]
            {
                let p = problem(pts.clone(), metric, round_trip, start, end);
                let s = engine.solve(&p, &kicks(300, 5));
                check(&p, &s);
                assert!(!s.optimal, "n={n}: heuristic result flagged optimal");
                assert_eq!(s.kicks, 300, "n={n}: kicks run");
                let nn = nearest_neighbour(&p);
                assert!(
                    s.length <= nn + 1e-9,
                    "n={n} {metric:?} rt={round_trip} end={end:?}: {} longer than nearest neighbour {nn}",
                    s.length
                );
            }
        }
    }
}

#[test]
fn heuristic_is_near_held_karp_just_above_the_exact_limit() {
    // n = 13..=15: too large for the engine's exact solver, small enough for
    // Held–Karp here. The search can never beat the optimum, and with a few
    // thousand kicks it should be at most a hair above it.
    let engine = engine();
    let mut rng = fastrand::Rng::with_seed(14);
    for n in 13..=15 {
        for metric in [Metric::Euclidean, Metric::Haversine] {
            let pts = random_points(&mut rng, n, metric);
            let start = rng.usize(..n);
            let end = (start + 1 + rng.usize(..n - 1)) % n;
            for (round_trip, start, end) in [(true, start, None), (false, start, None), (false, start, Some(end))] {
                let p = problem(pts.clone(), metric, round_trip, start, end);
                let s = engine.solve(&p, &kicks(3000, 1));
                check(&p, &s);
                let d = |i: usize, j: usize| metric.dist(pts[i], pts[j]);
                let (_, best) = exact::held_karp(n, d, start, end, round_trip);
                assert!(s.length >= best * (1.0 - 1e-9), "n={n}: {} beats the optimum {best}", s.length);
                assert!(
                    s.length <= best * 1.01,
                    "n={n} {metric:?} rt={round_trip} end={end:?}: {} vs optimum {best}",
                    s.length
                );
            }
        }
    }
}

/// Stops in clusters larger than the candidate lists: 12 within a metre of
/// each of 12 places across the US, round trips and open paths. The order
/// of the places must be close to the best: the tour is at most the optimum
/// over the places plus what a cluster can add (11 legs across it and its
/// two ends off the centre, 24 radii), and no shorter than that optimum less
/// 2 radii a place. With the
/// 10 nearest alone no list left its cluster and the places kept the greedy
/// start's order (BENCHMARKS.md, "Clustered stops").
#[test]
fn clustered_stops_visit_their_places_in_a_good_order() {
    let engine = engine();
    let mut rng = fastrand::Rng::with_seed(22);
    let (m, k, r_km) = (12, 12, 0.001);
    for case in 0..12 {
        let places: Vec<[f64; 2]> = (0..m).map(|_| [25.0 + rng.f64() * 24.0, -124.0 + rng.f64() * 57.0]).collect();
        let km_per_degree = Metric::Haversine.dist([0.0, 0.0], [1.0, 0.0]);
        let points: Vec<[f64; 2]> = places
            .iter()
            .flat_map(|c| {
                let lon_scale = c[0].to_radians().cos();
                (0..k)
                    .map(|_| {
                        let (a, d) = (rng.f64() * std::f64::consts::TAU, 0.9 * r_km * rng.f64().sqrt() / km_per_degree);
                        [c[0] + d * a.cos(), c[1] + d * a.sin() / lon_scale]
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        // Every other case an open path with a free end.
        let round_trip = case % 2 == 0;
        let p = problem(points, Metric::Haversine, round_trip, 0, None);
        let s = engine.solve(&p, &Budget::default());
        check(&p, &s);
        let (_, best) = exact::held_karp(m, |i, j| Metric::Haversine.dist(places[i], places[j]), 0, None, round_trip);
        let (low, high) = (best - 2.0 * r_km * m as f64, best + 24.0 * r_km * m as f64);
        assert!(
            s.length >= low && s.length <= high,
            "case {case} (round trip {round_trip}): {} km, places {best} km",
            s.length
        );
    }
}

/// Open paths whose end is free: the dummy node heads every candidate list,
/// so the search can move the path's end anywhere. The first instance is one
/// that once stayed 0.9% above the optimum for every seed and budget.
#[test]
fn open_paths_with_a_free_end_reach_held_karp() {
    let engine = engine();
    let stuck = vec![
        [19.001789861876873, 62.050410265828326],
        [44.38326975144064, 91.50122820910131],
        [37.59119304218872, 46.05958119504089],
        [31.282409708816616, 71.3421808078154],
        [28.56183018815014, 63.85793488722611],
        [52.83828943088233, 66.17992252303799],
        [85.67492132570104, 82.57525786986648],
        [42.9426659359862, 37.01863755995096],
        [37.50390470446238, 63.61880192182835],
        [64.25178031469218, 51.01559538940249],
        [33.96094075303046, 30.468934396199376],
        [91.92356116829794, 69.69634421195833],
        [27.30483351441666, 58.12899990625509],
        [50.847438540986076, 71.29392884721109],
    ];
    let mut rng = fastrand::Rng::with_seed(16);
    let mut cases = vec![(stuck, 8)];
    for n in 13..=16 {
        for _ in 0..8 {
            cases.push((random_points(&mut rng, n, Metric::Euclidean), rng.usize(..n)));
        }
    }
    for (pts, start) in cases {
        let n = pts.len();
        let p = problem(pts.clone(), Metric::Euclidean, false, start, None);
        let s = engine.solve(&p, &kicks(2000, 1));
        check(&p, &s);
        let (_, best) = exact::held_karp(n, |i, j| Metric::Euclidean.dist(pts[i], pts[j]), start, None, false);
        assert!(close(s.length, best, 1e-9), "n={n} start={start}: {} vs optimum {best}", s.length);
    }
}

/// Gains are judged against the tour's own scale: the same points in
/// another unit (scaled by a power of two, so exactly) give the same tour.
/// An absolute threshold once left points 1e-6 apart near the greedy tour.
#[test]
fn the_tour_does_not_depend_on_the_unit() {
    let engine = engine();
    let mut rng = fastrand::Rng::with_seed(6);
    let pts: Vec<[f64; 2]> = (0..200).map(|_| [rng.f64(), rng.f64()]).collect();
    let solve = |scale: f64| {
        let scaled = pts.iter().map(|p| [p[0] * scale, p[1] * scale]).collect();
        let p = problem(scaled, Metric::Euclidean, true, 0, None);
        let s = engine.solve(&p, &kicks(300, 1));
        check(&p, &s);
        (s.order, s.length / scale)
    };
    let (order, length) = solve(1.0);
    for scale in [2f64.powi(-20), 2f64.powi(-30), 2f64.powi(20)] {
        let (o, l) = solve(scale);
        assert!(close(l, length, 1e-9), "scale {scale}: length {l} vs {length}");
        assert_eq!(o, order, "scale {scale}");
    }
}

#[test]
fn duplicate_points_solve_validly() {
    // 40 copies each of 5 locations: every duplicate costs nothing, so the
    // optimum is the optimum over the 5 distinct locations.
    let engine = engine();
    let mut rng = fastrand::Rng::with_seed(15);
    for metric in [Metric::Euclidean, Metric::Haversine] {
        let distinct = random_points(&mut rng, 5, metric);
        let mut pts: Vec<[f64; 2]> = (0..200).map(|i| distinct[i % 5]).collect();
        rng.shuffle(&mut pts);
        let loc = |i: usize| distinct.iter().position(|&q| q == pts[i]).unwrap();
        // The start's copy and a copy of another location as the end.
        let start = 17;
        let end = (0..200).find(|&i| loc(i) != loc(start)).unwrap();
        for (round_trip, end) in [(true, None), (false, None), (false, Some(end))] {
            let p = problem(pts.clone(), metric, round_trip, start, end);
            // Default budget: coincident points are solved as one node, so
            // this is as easy as the 5-location instance (exact, in fact).
            let s = engine.solve(&p, &Budget::default());
            assert!(s.optimal, "5 distinct locations are solved exactly");
            check(&p, &s);
            // Each location's copies are visited in one run: 5 changes of
            // location around a round trip, 4 along a path.
            let edges = if round_trip { 200 } else { 199 };
            let changes = (0..edges).filter(|&k| loc(s.order[k]) != loc(s.order[(k + 1) % 200])).count();
            assert_eq!(changes, if round_trip { 5 } else { 4 }, "{metric:?} rt={round_trip} end={end:?}");
            let exact_end = end.map(loc);
            let small = problem(distinct.clone(), metric, round_trip, loc(start), exact_end);
            let best = brute_force(&small);
            assert!(s.length >= best * (1.0 - 1e-9), "{metric:?} rt={round_trip}: {} below optimum {best}", s.length);
            assert!(
                s.length <= best * (1.0 + 1e-6),
                "{metric:?} rt={round_trip} end={end:?}: {} vs the 5-location optimum {best}",
                s.length
            );
        }
    }
}

/// A pole at any longitude, and longitude -180 beside 180, are one place:
/// solved as one node (so 25 points at 6 places are solved exactly) and 0
/// apart, exactly. Planar points with those numbers are not.
#[test]
fn one_place_spelled_differently_is_one_stop() {
    let engine = engine();
    let mut pts: Vec<[f64; 2]> = (0..12).map(|k| [90.0, -180.0 + 30.0 * k as f64]).collect();
    pts.extend((0..6).map(|k| [-90.0, 60.0 * k as f64 - 0.5]));
    pts.extend([[20.0, -180.0], [20.0, 180.0], [20.0, -180.0], [-0.0, 10.0], [0.0, 10.0]]);
    pts.extend([[45.0, 45.0], [10.0, -100.0]]);
    assert_eq!(pts.len(), 25);
    let place = |p: [f64; 2]| match p {
        [lat, _] if lat.abs() == 90.0 => [lat, 0.0],
        [lat, lon] if lon.abs() == 180.0 => [lat, 180.0],
        [lat, lon] => [lat + 0.0, lon],
    };
    let p = problem(pts.clone(), Metric::Haversine, true, 0, None);
    let s = engine.solve(&p, &Budget::default());
    check(&p, &s);
    assert!(s.optimal, "6 places are solved exactly");
    for (k, leg) in s.legs.iter().enumerate() {
        let (a, b) = (pts[s.order[k]], pts[s.order[(k + 1) % 25]]);
        assert_eq!(*leg == 0.0, place(a) == place(b), "{a:?} → {b:?}: {leg}");
    }
    let changes = (0..25).filter(|&k| place(pts[s.order[k]]) != place(pts[s.order[(k + 1) % 25]])).count();
    assert_eq!(changes, 6, "each place's points are visited in one run");
    // On the plane [90, 0] and [90, 30] are 30 apart.
    let p = problem(pts, Metric::Euclidean, true, 0, None);
    let s = engine.solve(&p, &kicks(100, 1));
    check(&p, &s);
    assert!(!s.optimal);
    assert_eq!(s.legs.iter().filter(|&&l| l == 0.0).count(), 2, "only [20, -180] twice and ±0 are one point each");
}

#[test]
fn identical_points_have_length_zero() {
    let engine = engine();
    for (n, metric) in
        [(1, Metric::Haversine), (7, Metric::Euclidean), (50, Metric::Haversine), (300, Metric::Euclidean)]
    {
        let pts = vec![[12.5, 45.25]; n];
        for (round_trip, end) in [(true, None), (false, None), (false, Some(n - 1))] {
            let end = if n > 1 { end } else { None };
            let p = problem(pts.clone(), metric, round_trip, 0, end);
            let s = engine.solve(&p, &kicks(100, 1));
            check(&p, &s);
            assert_eq!(s.length, 0.0, "n={n}");
            assert!(s.legs.iter().all(|&l| l == 0.0));
        }
    }
}

/// TSPLIB's rounded EUC_2D and GEO distances break the triangle inequality,
/// so a shortest tour may visit a point's copies apart: they are not merged
/// there (they once were, and `optimal: true` came with a longer tour).
/// Exact sizes against brute force, and 14 points against Held–Karp.
#[test]
fn tsplib_copies_are_visited_apart_where_that_is_shorter() {
    let engine = engine();
    let cases = [
        (Tsplib::Euc2d, vec![[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [1.0, 1.0]], 4.0),
        (Tsplib::Geo, vec![[0.0, 0.0], [0.3, 0.0], [1.0, 0.0], [0.3, 0.0]], 224.0),
    ];
    for (kind, points, optimum) in cases {
        let p = Problem::round_trip(points, Metric::Tsplib(kind));
        assert_eq!(brute_force(&p), optimum, "{kind:?}");
        let s = engine.solve(&p, &Budget::default());
        check(&p, &s);
        assert!(s.optimal);
        assert_eq!(s.length, optimum, "{kind:?}: {:?}", s.order);
    }
    // (i, i) for i < 10 and copies of (1, 1), (3, 3), (5, 5), (7, 7).
    let mut points: Vec<[f64; 2]> = (0..10).map(|i| [i as f64, i as f64]).collect();
    points.extend([1.0, 3.0, 5.0, 7.0].map(|c| [c, c]));
    let p = Problem::round_trip(points, Metric::Tsplib(Tsplib::Euc2d));
    let d = |i: usize, j: usize| p.metric.dist(p.points[i], p.points[j]);
    let (_, optimum) = exact::held_karp(14, d, 0, None, true);
    let s = engine.solve(&p, &kicks(200, 1));
    check(&p, &s);
    assert!(!s.optimal, "14 points are not solved exactly");
    assert_eq!(s.length, optimum, "{:?}", s.order);
}

/// Many copies on EUC_2D and GEO: the tour is no longer than the distinct
/// points' tour with each place's copies visited together (0 apart on
/// EUC_2D, 1 on GEO). Searched with every copy a node of its own, the
/// EUC_2D case came out 15% longer (118,487 against 102,641).
#[test]
fn tsplib_copies_cost_no_more_than_visiting_them_together() {
    let engine = engine();
    let mut rng = fastrand::Rng::with_seed(41);
    for (kind, copy_cost) in [(Tsplib::Euc2d, 0.0), (Tsplib::Geo, 1.0)] {
        let distinct: Vec<[f64; 2]> = (0..200)
            .map(|_| match kind {
                Tsplib::Geo => [rng.i32(-6000..6000) as f64 / 100.0, rng.i32(-6000..6000) as f64 / 100.0],
                _ => [rng.i32(0..10_000) as f64, rng.i32(0..10_000) as f64],
            })
            .collect();
        let alone = engine.solve(&Problem::round_trip(distinct.clone(), Metric::Tsplib(kind)), &kicks(300, 1));
        let copies: Vec<[f64; 2]> = (0..10).flat_map(|_| distinct.iter().copied()).collect();
        let p = Problem::round_trip(copies, Metric::Tsplib(kind));
        let s = engine.solve(&p, &kicks(300, 1));
        check(&p, &s);
        assert!(!s.optimal);
        let together = alone.length + copy_cost * 1800.0;
        assert!(s.length <= together, "{kind:?}: {} against {together} with copies together", s.length);
    }
}

/// `NAME : optimum` lines of ../shared/tsplib/solutions.
fn known_optimum(name: &str) -> f64 {
    let text = std::fs::read_to_string(format!("{TSPLIB_DIR}solutions")).expect("reading the solutions file");
    let solutions = tsplib::Solutions::parse(&text).expect("the solutions file");
    let text = std::fs::read_to_string(format!("{TSPLIB_DIR}{name}.tsp")).expect("reading the instance");
    let metric = tsplib::parse(&text).expect("the instance").metric;
    solutions.optimum(name, metric).unwrap_or_else(|| panic!("{name} is not in the solutions file"))
}

#[test]
fn tsplib_optima_are_reproduced() {
    let engine = engine();
    for name in ["burma14", "ulysses22", "att48", "eil51", "berlin52", "st70"] {
        let text = std::fs::read_to_string(format!("{TSPLIB_DIR}{name}.tsp")).expect("reading the instance");
        let inst = tsplib::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(matches!(inst.metric, Metric::Tsplib(_)), "{name}: {:?}", inst.metric);
        let p = Problem::round_trip(inst.points, inst.metric);
        let s = engine.solve(&p, &kicks(20_000, 1));
        check(&p, &s);
        let opt = known_optimum(name);
        assert_eq!(s.length, opt, "{name}: length {} vs optimum {opt}", s.length);
    }
}

#[test]
fn tsplib_metrics_are_as_parsed() {
    // The instances above cover every TSPLIB metric the parser reads but CEIL_2D.
    let metric = |name: &str| {
        tsplib::parse(&std::fs::read_to_string(format!("{TSPLIB_DIR}{name}.tsp")).unwrap()).unwrap().metric
    };
    assert_eq!(metric("burma14"), Metric::Tsplib(Tsplib::Geo));
    assert_eq!(metric("ulysses22"), Metric::Tsplib(Tsplib::Geo));
    assert_eq!(metric("att48"), Metric::Tsplib(Tsplib::Att));
    assert_eq!(metric("berlin52"), Metric::Tsplib(Tsplib::Euc2d));
}

#[test]
fn same_seed_and_kicks_give_the_same_tour() {
    let engine = engine();
    let mut rng = fastrand::Rng::with_seed(16);
    for metric in [Metric::Euclidean, Metric::Haversine] {
        let pts = random_points(&mut rng, 500, metric);
        for (round_trip, end) in [(true, None), (false, Some(499))] {
            let p = problem(pts.clone(), metric, round_trip, 3, end);
            let a = engine.solve(&p, &kicks(5000, 42));
            let b = engine.solve(&p, &kicks(5000, 42));
            check(&p, &a);
            assert_eq!(a.kicks, 5000);
            assert_eq!(a.order, b.order, "{metric:?} rt={round_trip}");
            assert_eq!(a.length, b.length);
            // The problem's own seed wins over the budget's, and no seed at all means DEFAULT_SEED.
            let own = Problem { seed: Some(42), ..p.clone() };
            assert_eq!(engine.solve(&own, &kicks(5000, 7)).order, a.order, "problem seed ignored");
            let unseeded = Budget { kicks: Some(5000), ..Default::default() };
            let default_seeded = engine.solve(&p, &kicks(5000, DEFAULT_SEED));
            assert_eq!(engine.solve(&p, &unseeded).order, default_seeded.order, "DEFAULT_SEED not the default");
            // A kick count wins over time limits, which would cut it short.
            let clocked = Problem { time_limit: Some(Duration::from_nanos(1)), ..p.clone() };
            let budget = Budget { time_limit: Some(Duration::from_nanos(1)), ..kicks(5000, 42) };
            let s = engine.solve(&clocked, &budget);
            assert_eq!((s.kicks, &s.order), (5000, &a.order), "{metric:?} rt={round_trip}: a time limit cut the kicks");
        }
    }
}

#[test]
fn scalar_and_simd_backends_agree() {
    let scalar = Engine::new(Backend::Scalar);
    let simd = Engine::new(Backend::Simd);
    assert_eq!(scalar.backend(), Backend::Scalar);
    let mut rng = fastrand::Rng::with_seed(17);
    for metric in [Metric::Euclidean, Metric::Haversine] {
        for n in [40, 400] {
            let pts = random_points(&mut rng, n, metric);
            let p = problem(pts, metric, true, 0, None);
            let a = scalar.solve(&p, &kicks(4000, 9));
            let b = simd.solve(&p, &kicks(4000, 9));
            check(&p, &a);
            check(&p, &b);
            assert_eq!(a.backend, "cpu-scalar");
            assert!(b.backend.starts_with("cpu-simd"), "{}", b.backend);
            assert!(close(a.length, b.length, 0.01), "{metric:?} n={n}: scalar {} vs simd {}", a.length, b.length);
        }
    }
}

#[test]
fn simd_matrix_matches_scalar_matrix() {
    let mut rng = fastrand::Rng::with_seed(18);
    for metric in [Metric::Euclidean, Metric::Haversine, Metric::Tsplib(Tsplib::Euc2d)] {
        let pts = random_points(&mut rng, 37, metric);
        let (a, b) = (DistMatrix::scalar(metric, &pts), DistMatrix::simd(metric, &pts));
        assert_eq!((a.n(), b.n()), (37, 37));
        for i in 0..37 {
            for j in 0..37 {
                let exact = metric.dist(pts[i], pts[j]);
                let (x, y) = (a.get(i, j) as f64, b.get(i, j) as f64);
                assert!((x - exact).abs() <= 1e-6 * exact.max(1.0), "{metric:?} scalar ({i},{j}): {x} vs {exact}");
                assert!((y - exact).abs() <= 1e-5 * exact.max(1.0), "{metric:?} simd ({i},{j}): {y} vs {exact}");
            }
        }
    }
}

#[test]
fn best_2opt_move_on_a_crossed_square() {
    // Unit square 0 (0,0), 1 (1,0), 2 (1,1), 3 (0,1). The tour 0-2-1-3 crosses
    // itself: its diagonals (0,2) and (1,3) are √2 each. Replacing them with the
    // sides (0,1) and (2,3) gains 2√2 − 2, and it is the only improving move:
    // the other non-adjacent pair, (2,1) and (3,0), are sides already.
    let sq = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]];
    let m = DistMatrix::scalar(Metric::Euclidean, &sq);
    let crossed = [0u32, 2, 1, 3];
    let (i, j, gain) = reference::best_2opt_move(&m, &crossed).expect("the crossed tour has an improving move");
    assert_eq!((i, j), (0, 2));
    let want = 2.0 * 2f64.sqrt() - 2.0;
    assert!((gain - want).abs() < 1e-6, "gain {gain} vs {want}");
    assert!(!reference::is_2opt_optimal(&m, &crossed, 0.1));
    assert!(reference::is_2opt_optimal(&m, &crossed, 1.0));
    // Applying the move (reverse i+1..=j) gives the perimeter, with no move left.
    let mut fixed = crossed;
    fixed[i + 1..=j].reverse();
    assert_eq!(fixed, [0, 1, 2, 3]);
    assert_eq!(reference::best_2opt_move(&m, &fixed), None);
    assert!(reference::is_2opt_optimal(&m, &fixed, 0.0));
    // Too small for any move.
    assert_eq!(reference::best_2opt_move(&m, &[0u32, 1, 2]), None);
}

#[test]
fn local_search_without_kicks_is_near_2opt_optimal() {
    let engine = engine();
    let mut rng = fastrand::Rng::with_seed(19);
    let mut strictly_optimal = 0;
    let sizes = [50, 75, 100, 130, 160, 200];
    for &n in &sizes {
        let pts = random_points(&mut rng, n, Metric::Euclidean);
        let p = problem(pts.clone(), Metric::Euclidean, true, 0, None);
        let s = engine.solve(&p, &kicks(0, 1));
        check(&p, &s);
        assert_eq!(s.kicks, 0);
        let m = DistMatrix::scalar(Metric::Euclidean, &pts);
        let order: Vec<u32> = s.order.iter().map(|&v| v as u32).collect();
        let gain = reference::best_2opt_move(&m, &order).map_or(0.0, |(_, _, g)| g);
        assert!(gain < 0.02 * s.length, "n={n}: a 2-opt move gains {gain} on a tour of {}", s.length);
        if reference::is_2opt_optimal(&m, &order, 1e-3 * s.length) {
            strictly_optimal += 1;
        }
    }
    // Neighbour lists miss few moves: most tours are 2-opt optimal outright.
    assert!(strictly_optimal * 2 >= sizes.len(), "{strictly_optimal} of {} tours 2-opt optimal", sizes.len());
}

#[test]
fn solve_batch_answers_in_input_order() {
    let engine = engine();
    let mut rng = fastrand::Rng::with_seed(20);
    let mut problems = Vec::new();
    for (k, &n) in [100, 1, 20, 5, 100, 20, 1, 5].iter().enumerate() {
        let metric = if k % 2 == 0 { Metric::Euclidean } else { Metric::Haversine };
        let pts = random_points(&mut rng, n, metric);
        let start = rng.usize(..n);
        let (round_trip, end) = match k % 3 {
            0 => (true, None),
            1 => (false, None),
            _ => (false, (n > 1).then_some((start + 1) % n)),
        };
        problems.push(problem(pts, metric, round_trip, start, end));
    }
    let budget = kicks(500, 4);
    let solutions = engine.solve_batch(&problems, &budget);
    assert_eq!(solutions.len(), problems.len());
    for (p, s) in problems.iter().zip(&solutions) {
        check(p, s);
        // The batch result is the one solve gives this problem alone.
        let alone = engine.solve(p, &budget);
        assert_eq!(s.order, alone.order, "n={}", p.points.len());
    }
    assert!(engine.solve_batch(&[], &budget).is_empty());
}

#[test]
fn large_instance_without_a_matrix() {
    let n = 6000;
    assert!(n > MATRIX_MAX_N);
    let side = 1000.0;
    let mut rng = fastrand::Rng::with_seed(21);
    let pts = random_points(&mut rng, n, Metric::Euclidean);
    let p = problem(pts, Metric::Euclidean, true, 123, None);
    let s = engine().solve(&p, &kicks(2000, 1));
    check(&p, &s);
    let identity: Vec<usize> = (0..n).collect();
    let identity_len = length_of(&p, &identity);
    assert!(s.length < identity_len, "{} vs identity {identity_len}", s.length);
    let bhh = 0.7124 * ((n as f64) * side * side).sqrt();
    assert!(s.length < 1.25 * bhh, "{} vs 1.25 × BHH {bhh}", s.length);
}

#[test]
fn large_open_path_without_a_matrix() {
    // Haversine, start and end fixed: the dummy-node path on the matrix-free
    // distances.
    let n = MATRIX_MAX_N + 500;
    let mut rng = fastrand::Rng::with_seed(22);
    let pts = random_points(&mut rng, n, Metric::Haversine);
    let p = problem(pts, Metric::Haversine, false, 10, Some(20));
    let s = engine().solve(&p, &kicks(1000, 2));
    check(&p, &s);
    // Beardwood–Halton–Hammersley on the area of `random_points`' box
    // (lat 40–45, lon −90 to −83): a round trip of n random points is about
    // 0.7124·√(n·A), an open path one edge shorter.
    let r = route_optim::metric::EARTH_RADIUS_KM;
    let area = r * r * 7f64.to_radians() * (45f64.to_radians().sin() - 40f64.to_radians().sin());
    let bhh = 0.7124 * (n as f64 * area).sqrt();
    assert!(s.length < 1.1 * bhh, "{} vs 1.1 × BHH {bhh}", s.length);
}

/// A search cancelled (Ctrl-C) or past its deadline before it starts ends
/// its first descent too, not only the kicks after it: at 10^6 points that
/// descent took seconds past the limit.
#[test]
fn a_search_already_over_skips_its_first_descent() {
    let mut rng = fastrand::Rng::with_seed(23);
    let p = problem(random_points(&mut rng, MATRIX_MAX_N + 1000, Metric::Euclidean), Metric::Euclidean, true, 0, None);
    let descended = engine().solve(&p, &kicks(0, 1));
    let over = [
        Budget { cancel: Some(Arc::new(AtomicBool::new(true))), ..Budget::default() },
        Budget { deadline: Some(Instant::now()), ..Budget::default() },
    ];
    for budget in over {
        let s = engine().solve(&p, &budget);
        check(&p, &s);
        // The greedy start tour is some 15% longer than its local optimum.
        assert!(s.kicks == 0 && s.length > 1.05 * descended.length, "{} vs {}", s.length, descended.length);
    }
}

#[test]
fn matrix_free_path_matches_the_matrix_path_in_quality() {
    // The same 2,000-point instances through both paths (the matrix-free one
    // forced by a lower matrix limit): equal kick budgets must give tours
    // within 1% of each other, for a planar and a spherical metric.
    let n = 2000;
    for (seed, metric) in [(31, Metric::Euclidean), (32, Metric::Haversine)] {
        let mut rng = fastrand::Rng::with_seed(seed);
        let p = problem(random_points(&mut rng, n, metric), metric, true, 0, None);
        let budget = kicks(3000, seed);
        let with_matrix = engine().solve(&p, &budget);
        let without = engine().with_matrix_max_n(n - 1).solve(&p, &budget);
        check(&p, &with_matrix);
        check(&p, &without);
        assert!(
            close(with_matrix.length, without.length, 0.01),
            "{metric:?}: matrix {} vs matrix-free {}",
            with_matrix.length,
            without.length
        );
    }
}
