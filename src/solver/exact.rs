//! Held–Karp dynamic programming: the proved optimum for small instances.
//!
//! `O(2^m · m²)` time with `m = n − 1`; used for `n ≤ EXACT_MAX_N` where it
//! costs at most a few tens of microseconds and needs no heuristics.

use wide::f64x4;

/// Largest instance solved exactly (2^11 · 11 states, ~120k relaxations).
pub const EXACT_MAX_N: usize = 12;

/// The shortest tour (`round_trip`) or path through all `n` nodes that starts
/// at `start` and, when given, ends at `end`. `d(i, j)` is symmetric or not;
/// it is called O(n²) times up front. Returns the visiting order (starting at
/// `start`, not closed) and its length.
///
/// Never inlined: inlined into `Engine::search`, its DP loop ran 30% slower
/// (10-stop requests) after an unrelated change there, by code layout alone.
#[inline(never)]
pub fn held_karp(
    n: usize,
    d: impl Fn(usize, usize) -> f64,
    start: usize,
    end: Option<usize>,
    round_trip: bool,
) -> (Vec<usize>, f64) {
    assert!(n <= EXACT_MAX_N + 8, "held_karp on {n} nodes");
    if n <= 1 {
        return ((0..n).collect(), 0.0);
    }
    // Nodes other than `start`, renumbered 0..m.
    let others: Vec<usize> = (0..n).filter(|&v| v != start).collect();
    let m = others.len();
    // into[k * s + j] = d(others[j], others[k]): row k holds the arcs into k,
    // so the inner minimum runs over two contiguous rows, four lanes at a
    // time. Rows are padded to a multiple of 4 (dp padding stays infinite).
    let s = m.div_ceil(4) * 4;
    let mut into = vec![0.0; m * s];
    for k in 0..m {
        for j in 0..m {
            into[k * s + j] = d(others[j], others[k]);
        }
    }
    let full = (1usize << m) - 1;
    // dp[mask * s + j]: shortest path from start through `mask`, ending at
    // others[j]; infinite where j is not in mask, so it drops out of minima.
    let mut dp = vec![f64::INFINITY; (1 << m) * s];
    for (j, &o) in others.iter().enumerate() {
        dp[(1 << j) * s + j] = d(start, o);
    }
    for mask in 1..full {
        let (done, later) = dp.split_at_mut((mask + 1) * s);
        let row = &done[mask * s..];
        let mut rest = full & !mask;
        while rest != 0 {
            let k = rest.trailing_zeros() as usize;
            rest &= rest - 1;
            let arcs = &into[k * s..(k + 1) * s];
            let mut acc = f64x4::splat(f64::INFINITY);
            for (x, y) in row.chunks_exact(4).zip(arcs.chunks_exact(4)) {
                let v = f64x4::new(x.try_into().expect("4 lanes")) + f64x4::new(y.try_into().expect("4 lanes"));
                acc = acc.fast_min(v);
            }
            let best = acc.to_array().into_iter().fold(f64::INFINITY, f64::min);
            let slot = &mut later[((mask | (1 << k)) - mask - 1) * s + k];
            *slot = slot.min(best);
        }
    }
    let closing = |j: usize| -> f64 {
        match (round_trip, end) {
            (true, _) => d(others[j], start),
            (false, Some(e)) if others[j] != e => f64::INFINITY,
            (false, _) => 0.0,
        }
    };
    let (mut last, mut best) = (0, f64::INFINITY);
    for j in 0..m {
        let total = dp[full * s + j] + closing(j);
        if total < best {
            (last, best) = (j, total);
        }
    }
    // Walk back: the predecessor is the j whose sum reproduces the entry
    // (the same f64 operation, so the same bits).
    let mut order = Vec::with_capacity(n);
    let mut mask = full;
    loop {
        order.push(others[last]);
        let prev = mask & !(1 << last);
        if prev == 0 {
            break;
        }
        let target = dp[mask * s + last];
        let arcs = &into[last * s..(last + 1) * s];
        last = (0..m)
            .find(|&j| prev & (1 << j) != 0 && dp[prev * s + j] + arcs[j] == target)
            .expect("Held-Karp entry has a predecessor");
        mask = prev;
    }
    order.push(start);
    order.reverse();
    (order, best)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every ordering of the non-fixed nodes: the reference for Held–Karp.
    fn brute_force(
        n: usize,
        d: &dyn Fn(usize, usize) -> f64,
        start: usize,
        end: Option<usize>,
        round_trip: bool,
    ) -> f64 {
        fn rec(
            path: &mut Vec<usize>,
            left: &mut Vec<usize>,
            d: &dyn Fn(usize, usize) -> f64,
            end: Option<usize>,
            round_trip: bool,
            best: &mut f64,
        ) {
            if left.is_empty() {
                if !round_trip && end.is_some_and(|e| *path.last().unwrap() != e) {
                    return;
                }
                let mut len: f64 = path.windows(2).map(|w| d(w[0], w[1])).sum();
                if round_trip {
                    len += d(*path.last().unwrap(), path[0]);
                }
                *best = best.min(len);
                return;
            }
            for i in 0..left.len() {
                let v = left.swap_remove(i);
                path.push(v);
                rec(path, left, d, end, round_trip, best);
                path.pop();
                left.push(v);
                let last = left.len() - 1;
                left.swap(i, last);
            }
        }
        let mut best = f64::INFINITY;
        let mut left: Vec<usize> = (0..n).filter(|&v| v != start).collect();
        rec(&mut vec![start], &mut left, d, end, round_trip, &mut best);
        best
    }

    #[test]
    fn equals_brute_force_up_to_9() {
        let mut rng = fastrand::Rng::with_seed(1);
        for n in 1..=9 {
            for trial in 0..6 {
                let pts: Vec<(f64, f64)> = (0..n).map(|_| (rng.f64() * 100.0, rng.f64() * 100.0)).collect();
                // Asymmetric on purpose in one trial: the DP must not assume symmetry.
                let skew = if trial == 5 { 7.0 } else { 0.0 };
                let d = |a: usize, b: usize| {
                    (pts[a].0 - pts[b].0).hypot(pts[a].1 - pts[b].1) + if a < b { skew } else { 0.0 }
                };
                let start = rng.usize(..n);
                let end = (n > 1 && trial % 2 == 1).then(|| loop {
                    let e = rng.usize(..n);
                    if e != start {
                        break e;
                    }
                });
                for round_trip in [true, false] {
                    let end = if round_trip { None } else { end };
                    let (order, len) = held_karp(n, d, start, end, round_trip);
                    let bf = brute_force(n, &d, start, end, round_trip);
                    assert!((len - bf).abs() < 1e-9, "n={n} rt={round_trip} end={end:?}: {len} vs {bf}");
                    // The order is a permutation starting at start, ending at end, of that length.
                    let mut seen = order.clone();
                    seen.sort();
                    assert_eq!(seen, (0..n).collect::<Vec<_>>());
                    assert_eq!(order[0], start);
                    if let Some(e) = end {
                        assert_eq!(*order.last().unwrap(), e);
                    }
                    let mut l: f64 = order.windows(2).map(|w| d(w[0], w[1])).sum();
                    if round_trip && n > 1 {
                        l += d(order[n - 1], order[0]);
                    }
                    assert!((l - len).abs() < 1e-9);
                }
            }
        }
    }
}
