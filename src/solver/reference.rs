//! Simple references for the fast local search: full scans, no candidate
//! lists, no queues. Tests (CPU and GPU) compare the fast paths against them.

use super::Dist;

/// The best 2-opt move of a closed tour by scanning all edge pairs, O(n²):
/// `(i, j, gain)` removes edges (order[i], order[i+1]) and
/// (order[j], order[j+1 mod n]), i < j, reconnecting by reversing i+1..=j.
/// `None` when no move has a positive gain.
pub fn best_2opt_move<D: Dist>(d: &D, order: &[u32]) -> Option<(usize, usize, f64)> {
    let n = order.len();
    let mut best: Option<(usize, usize, f64)> = None;
    for i in 0..n.saturating_sub(2) {
        let (a, b) = (order[i] as usize, order[i + 1] as usize);
        let d_ab = d.d(a, b);
        // j = n-1 with i = 0 shares node order[0]: not a move.
        let last = if i == 0 { n - 1 } else { n };
        for j in i + 2..last {
            let (c, e) = (order[j] as usize, order[(j + 1) % n] as usize);
            let gain = d_ab + d.d(c, e) - d.d(a, c) - d.d(b, e);
            if gain > best.map_or(0.0, |b| b.2) {
                best = Some((i, j, gain));
            }
        }
    }
    best
}

/// Whether a closed tour is a 2-opt local optimum to within `eps`.
pub fn is_2opt_optimal<D: Dist>(d: &D, order: &[u32], eps: f64) -> bool {
    best_2opt_move(d, order).is_none_or(|(_, _, gain)| gain <= eps)
}
