//! Simple references for the fast local searches: plain scans, no queues,
//! no don't-look bits, no parallelism. Tests (CPU and GPU) compare the fast
//! paths against them.

use super::{neighbors::Neighbors, Dist};

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

/// Each node's best 2-opt move over its neighbour list, by the definition
/// the GPU's large-tour pass (`shaders/two_opt_large.wgsl`) evaluates in
/// parallel: for each neighbour c of a, the move that removes the edges from
/// a and c to their successors and the one that removes those to their
/// predecessors, both adding (a, c). `(i, j, gain)` as in [`best_2opt_move`];
/// `None` where no move gains more than `eps`.
pub fn best_list_2opt_moves<D: Dist>(
    d: &D,
    nb: &Neighbors,
    order: &[u32],
    eps: f64,
) -> Vec<Option<(usize, usize, f64)>> {
    let n = order.len();
    let mut pos = vec![0usize; n];
    for (p, &c) in order.iter().enumerate() {
        pos[c as usize] = p;
    }
    let next = |p: usize| (p + 1) % n;
    let prev = |p: usize| (p + n - 1) % n;
    let node = |p: usize| order[p] as usize;
    (0..n)
        .map(|a| {
            let mut best: Option<(usize, usize, f64)> = None;
            for &c in nb.of(a as u32) {
                let c = c as usize;
                // Successors (edges at a's and c's positions), then
                // predecessors (edges at the positions before).
                for (i, j) in [(pos[a], pos[c]), (prev(pos[a]), prev(pos[c]))] {
                    let (i, j) = (i.min(j), i.max(j));
                    // Edges that share a node (or are one edge) are no move.
                    if c == a || j == i + 1 || (i == 0 && j == n - 1) {
                        continue;
                    }
                    let gain = d.d(node(i), node(i + 1)) + d.d(node(j), node(next(j)))
                        - d.d(node(i), node(j))
                        - d.d(node(i + 1), node(next(j)));
                    if gain > eps && gain > best.map_or(0.0, |b| b.2) {
                        best = Some((i, j, gain));
                    }
                }
            }
            best
        })
        .collect()
}
