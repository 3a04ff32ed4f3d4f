// Batched local search for small instances: one workgroup per instance.
//
// The instance's points, tour, position index and edge lengths live in
// workgroup memory (about 13 KiB for 256 points). Distances are recomputed
// from the points, never read from a matrix. Every pass each invocation
// evaluates a stride of the moves, a workgroup reduction picks the best,
// and the workgroup applies it together:
//   - 2-opt: every pair of edges (the full O(n²) scan);
//   - Or-opt: a segment of 1–3 points moved, in either orientation, next to
//     one of the K nearest neighbours of its first or last point.
// `ils` repeats "local optimum, segment-swap kick, local optimum" for a given
// number of rounds, keeping the best tour; `best_move` reports the best 2-opt
// move of the given tours (the tests compare it with the CPU's full scan).
//
// Mesa 22.3's lavapipe (Debian 12's own) returns corrupted tours from this
// shader; Mesa 25 (bookworm-backports), which CI installs, runs it right.
//
// Uniformity: every barrier is reached by the whole workgroup. Loop bounds
// and branches around barriers depend only on the instance (read-only
// storage), on values broadcast with workgroupUniformLoad, or on the kick
// hash, which every invocation computes alike.
//
// A move is applied only when its f32 gain exceeds eps_rel × the length of
// the edges it removes, so f32 rounding cannot make the search cycle; the
// host recomputes final lengths in f64.

const WG: u32 = 256u;
const MAXN: u32 = 256u;
const NONE: u32 = 0xffffffffu;
const OR_FLAG: u32 = 0x80000000u;
const KICK_MAX: u32 = 50u;

struct Params {
    // 1: haversine (scale = 2R, points are unit vectors), 0: euclidean.
    sphere: u32,
    scale: f32,
    eps_rel: f32,
    // Neighbours per node in `neighbors`.
    k: u32,
}

struct Instance {
    // First point of this instance in `points` and `tours`.
    offset: u32,
    n: u32,
    // The round this dispatch stops at (a slice of the instance's rounds).
    rounds: u32,
    // Rounds without a better tour that end `ils` early (0: never).
    stall: u32,
    seed: u32,
    // Rounds already run and rounds since the last better tour, from the
    // slices before this one: `tours` then holds their best tour, so a
    // search cut into slices runs the same kicks as one that is not.
    first: u32,
    since: u32,
}

struct Outcome {
    // ils: f32 length of the best tour; best_move: the best gain.
    value: f32,
    // ils: rounds run in all, rounds since a better tour; best_move: i, j
    // (NONE when no move).
    a: u32,
    b: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> instances: array<Instance>;
@group(0) @binding(2) var<storage, read> points: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> neighbors: array<u32>;
@group(0) @binding(4) var<storage, read_write> tours: array<u32>;
@group(0) @binding(5) var<storage, read_write> outcomes: array<Outcome>;

var<workgroup> px: array<f32, MAXN>;
var<workgroup> py: array<f32, MAXN>;
var<workgroup> pz: array<f32, MAXN>;
var<workgroup> tour: array<u32, MAXN>;
var<workgroup> pos: array<u32, MAXN>;
var<workgroup> edge: array<f32, MAXN>;
// cut[(len - 1) * MAXN + s]: d(t[s-1], t[s+len]), the edge that closes the
// gap when the segment t[s..s+len) leaves (Or-opt).
var<workgroup> cut: array<f32, 768>;
var<workgroup> scratch: array<u32, MAXN>;
var<workgroup> best_tour: array<u32, MAXN>;
var<workgroup> red_gain: array<f32, WG>;
var<workgroup> red_move: array<u32, WG>;

fn dist(a: u32, b: u32) -> f32 {
    let v = vec3<f32>(px[a] - px[b], py[a] - py[b], pz[a] - pz[b]);
    let chord = sqrt(dot(v, v));
    if (params.sphere != 0u) {
        return params.scale * asin_01(min(chord * 0.5, 1.0));
    }
    return chord;
}

fn next(k: u32, n: u32) -> u32 {
    return select(k + 1u, 0u, k + 1u == n);
}

fn prev(k: u32, n: u32) -> u32 {
    return select(k - 1u, n - 1u, k == 0u);
}

// PCG hash of a counter: kick k of an instance draws hash(seed, 4k + 0..3).
// Stateless, so every invocation draws the same numbers.
fn hash(x: u32) -> u32 {
    let state = x * 747796405u + 2891336453u;
    let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
    return (word >> 22u) ^ word;
}

fn below(seed: u32, counter: u32, m: u32) -> u32 {
    return hash(hash(seed) ^ counter) % m;
}

fn instance_index(wid: vec3<u32>, groups: vec3<u32>) -> u32 {
    return wid.x + wid.y * groups.x;
}

fn load(inst: Instance, lid: u32) {
    for (var k = lid; k < inst.n; k += WG) {
        let p = points[inst.offset + k];
        px[k] = p.x;
        py[k] = p.y;
        pz[k] = p.z;
        tour[k] = tours[inst.offset + k];
    }
    workgroupBarrier();
}

// Position index, edge lengths and Or-opt gap edges of the current tour.
fn refresh(n: u32, lid: u32) {
    for (var k = lid; k < n; k += WG) {
        pos[tour[k]] = k;
        edge[k] = dist(tour[k], tour[next(k, n)]);
        let p = tour[prev(k, n)];
        cut[k] = dist(p, tour[(k + 1u) % n]);
        cut[MAXN + k] = dist(p, tour[(k + 2u) % n]);
        cut[2u * MAXN + k] = dist(p, tour[(k + 3u) % n]);
    }
    workgroupBarrier();
}

fn better(g: f32, c: u32, bg: f32, bc: u32) -> bool {
    return g > bg || (g == bg && c < bc);
}

// One step of the tree reductions below: entries [h, 2h) into [0, h).
fn best_step(lid: u32, h: u32) {
    if (lid < h && better(red_gain[lid + h], red_move[lid + h], red_gain[lid], red_move[lid])) {
        red_gain[lid] = red_gain[lid + h];
        red_move[lid] = red_move[lid + h];
    }
    workgroupBarrier();
}

fn sum_step(lid: u32, h: u32) {
    if (lid < h) {
        red_gain[lid] += red_gain[lid + h];
    }
    workgroupBarrier();
}

// Reduces (red_gain, red_move) to the best entry; returns its move, uniform.
fn reduce_best(lid: u32) -> u32 {
    workgroupBarrier();
    for (var h = WG / 2u; h > 0u; h >>= 1u) {
        best_step(lid, h);
    }
    let m = workgroupUniformLoad(&red_move[0]);
    workgroupBarrier();
    return m;
}

// f32 length of the current tour, uniform.
fn tour_length(n: u32, lid: u32) -> f32 {
    var s = 0.0;
    for (var k = lid; k < n; k += WG) {
        s += edge[k];
    }
    red_gain[lid] = s;
    workgroupBarrier();
    for (var h = WG / 2u; h > 0u; h >>= 1u) {
        sum_step(lid, h);
    }
    let total = workgroupUniformLoad(&red_gain[0]);
    workgroupBarrier();
    return total;
}

// This invocation's best 2-opt move, over a balanced share of all pairs.
// A move (i, j), i + 2 <= j, removes edges (t[i], t[i+1]) and (t[j], t[j+1])
// and reverses t[i+1..=j]. Pairs are grouped by d = j - i; row r holds
// d = 2 + r and its partner d' = n - 1 - r, n - 1 moves together, so the
// pairs form a dense (n-1)/2 × (n-1) grid that the invocations share evenly.
fn scan_2opt(n: u32, lid: u32, bg: ptr<function, f32>, bc: ptr<function, u32>) {
    let width = n - 1u;
    let rows = (n - 1u) / 2u;
    // Grid cell m = r * width + q, stepped by WG without a division per step.
    let step_r = WG / width;
    let step_q = WG % width;
    var r = lid / width;
    var q = lid % width;
    while (r < rows) {
        let d = 2u + r;
        let d2 = n - 1u - r;
        var i = q;
        var j = q + d;
        // The partner row, skipped when it is this row itself.
        var ok = q < n - d || d2 > d;
        if (q >= n - d) {
            i = q - (n - d);
            j = i + d2;
        }
        // (0, n-1) shares node t[0]: not a move.
        ok = ok && !(i == 0u && j == n - 1u);
        if (ok) {
            let removed = edge[i] + edge[j];
            let gain = removed - dist(tour[i], tour[j]) - dist(tour[i + 1u], tour[next(j, n)]);
            let code = (i << 8u) | j;
            if (gain > params.eps_rel * removed && better(gain, code, *bg, *bc)) {
                *bg = gain;
                *bc = code;
            }
        }
        r += step_r;
        q += step_q;
        if (q >= width) {
            q -= width;
            r += 1u;
        }
    }
}

fn or_code(s: u32, len: u32, c: u32, rev: bool) -> u32 {
    return OR_FLAG | (select(0u, 1u, rev) << 30u) | ((len - 1u) << 28u) | (s << 8u) | c;
}

// Gain of moving t[s..s+len) between t[c] and t[c+1], reversed or not;
// Skips a c that touches the segment.
fn or_gain(n: u32, s: u32, len: u32, c: u32, rev: bool, removed_base: f32, gain_base: f32,
           bg: ptr<function, f32>, bc: ptr<function, u32>) {
    let e = s + len - 1u;
    if ((c >= s && c <= e) || c == prev(s, n)) {
        return;
    }
    let c1 = next(c, n);
    var added: f32;
    if (rev) {
        added = dist(tour[c], tour[e]) + dist(tour[s], tour[c1]);
    } else {
        added = dist(tour[c], tour[s]) + dist(tour[e], tour[c1]);
    }
    let removed = removed_base + edge[c];
    let gain = gain_base + edge[c] - added;
    let code = or_code(s, len, c, rev);
    if (gain > params.eps_rel * removed && better(gain, code, *bg, *bc)) {
        *bg = gain;
        *bc = code;
    }
}

// This invocation's best Or-opt move over its share of (segment, neighbour).
fn scan_oropt(inst: Instance, lid: u32, bg: ptr<function, f32>, bc: ptr<function, u32>) {
    let n = inst.n;
    let kk2 = 2u * params.k;
    // Item m = rest * kk2 + which, rest = 3 s + len - 1, stepped by WG
    // without a division by kk2 per step.
    let step_rest = WG / kk2;
    let step_which = WG % kk2;
    var which = lid % kk2;
    var rest = lid / kk2;
    while (rest < 3u * n) {
        let len = rest % 3u + 1u;
        let s = rest / 3u;
        let e = s + len - 1u;
        // Segments do not wrap; the kicks rotate the tour, so every point
        // gets its turn at either end.
        if (e < n && e + 3u < n + s) {
            let removed_base = edge[prev(s, n)] + edge[e];
            let gain_base = removed_base - cut[(len - 1u) * MAXN + s];
            if (which < params.k) {
                // Neighbour v of the first point: edge (v, t[s]) either way round.
                let v = neighbors[(inst.offset + tour[s]) * params.k + which];
                let pv = pos[v];
                or_gain(n, s, len, pv, false, removed_base, gain_base, bg, bc);
                or_gain(n, s, len, prev(pv, n), true, removed_base, gain_base, bg, bc);
            } else {
                // Neighbour v of the last point: edge (t[e], v) either way round.
                let v = neighbors[(inst.offset + tour[e]) * params.k + which - params.k];
                let pv = pos[v];
                or_gain(n, s, len, prev(pv, n), false, removed_base, gain_base, bg, bc);
                or_gain(n, s, len, pv, true, removed_base, gain_base, bg, bc);
            }
        }
        rest += step_rest;
        which += step_which;
        if (which >= kk2) {
            which -= kk2;
            rest += 1u;
        }
    }
}

// Where position k of the tour takes its point from when `code` is
// applied; positions outside the move's range keep theirs.
fn source(code: u32, k: u32) -> u32 {
    if ((code & OR_FLAG) == 0u) {
        // 2-opt: t[i+1..=j] reversed.
        let i = (code >> 8u) & 0xffu;
        let j = code & 0xffu;
        if (k > i && k <= j) {
            return i + 1u + j - k;
        }
        return k;
    }
    let rev = ((code >> 30u) & 1u) == 1u;
    let len = ((code >> 28u) & 3u) + 1u;
    let s = (code >> 8u) & 0xffu;
    let c = code & 0xffu;
    let e = s + len - 1u;
    if (c > e) {
        // Or-opt forward: t[e+1..=c] moves left, the segment ends at c.
        if (k < s || k > c) {
            return k;
        }
        let t = k - s;
        if (t < c - e) {
            return e + 1u + t;
        }
        let q = t - (c - e);
        return select(s + q, e - q, rev);
    }
    // Or-opt backward: the segment lands after t[c], t[c+1..s) moves right.
    if (k <= c || k > e) {
        return k;
    }
    let t = k - c - 1u;
    if (t < len) {
        return select(s + t, e - t, rev);
    }
    return c + 1u + t - len;
}

// Applies `code` (NONE: nothing) through `scratch`. No branch surrounds a
// barrier: every invocation runs the same barriers whatever the move.
fn apply(code: u32, n: u32, lid: u32) {
    for (var k = lid; k < n; k += WG) {
        scratch[k] = tour[select(source(code, k), k, code == NONE)];
    }
    workgroupBarrier();
    for (var k = lid; k < n; k += WG) {
        tour[k] = scratch[k];
    }
    workgroupBarrier();
    refresh(n, lid);
}

// Best-improvement 2-opt + Or-opt until no move improves (or a safety cap).
fn local_search(inst: Instance, lid: u32) {
    let n = inst.n;
    var done = false;
    for (var step = 0u; step < 16u * n && !done; step++) {
        var bg = 0.0;
        var bc = NONE;
        scan_2opt(n, lid, &bg, &bc);
        scan_oropt(inst, lid, &bg, &bc);
        red_gain[lid] = bg;
        red_move[lid] = bc;
        let code = reduce_best(lid);
        done = code == NONE;
        apply(code, n, lid);
    }
}

// Rotates the tour by `r` and swaps two adjacent segments of at most
// KICK_MAX points (a double bridge whose segments lie close on the tour).
fn kick(n: u32, lid: u32, seed: u32, round: u32) {
    let max_len = max(1u, min(KICK_MAX, (n - 2u) / 3u));
    let l1 = 1u + below(seed, 4u * round, max_len);
    let l2 = 1u + below(seed, 4u * round + 1u, max_len);
    let r = below(seed, 4u * round + 2u, n);
    let p1 = 1u + below(seed, 4u * round + 3u, n - l1 - l2);
    let p2 = p1 + l1;
    let p3 = p2 + l2;
    for (var k = lid; k < n; k += WG) {
        var src = k;
        if (k >= p1 && k < p3) {
            let t = k - p1;
            src = select(p1 + t - l2, p2 + t, t < l2);
        }
        scratch[k] = tour[(src + r) % n];
    }
    workgroupBarrier();
    for (var k = lid; k < n; k += WG) {
        tour[k] = scratch[k];
    }
    workgroupBarrier();
    refresh(n, lid);
}

fn save_best(n: u32, lid: u32) {
    for (var k = lid; k < n; k += WG) {
        best_tour[k] = tour[k];
    }
    workgroupBarrier();
}

// Back to the best tour when `back`; the barriers run either way.
fn restore_best(back: bool, n: u32, lid: u32) {
    for (var k = lid; k < n; k += WG) {
        tour[k] = select(tour[k], best_tour[k], back);
    }
    workgroupBarrier();
    refresh(n, lid);
}

@compute @workgroup_size(256)
fn ils(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
       @builtin(local_invocation_index) lid: u32) {
    let id = instance_index(wid, groups);
    if (id >= arrayLength(&instances)) {
        return;
    }
    let inst = instances[id];
    let n = inst.n;
    load(inst, lid);
    refresh(n, lid);
    local_search(inst, lid);
    var best = tour_length(n, lid);
    save_best(n, lid);
    var rounds = inst.first;
    var since = inst.since;
    loop {
        if (rounds >= inst.rounds || (inst.stall != 0u && since >= inst.stall)) {
            break;
        }
        rounds += 1u;
        kick(n, lid, inst.seed, rounds);
        local_search(inst, lid);
        let len = tour_length(n, lid);
        // A tour as short as the best is kept (it moves the search along).
        let better = len < best;
        since = select(since + 1u, 0u, better);
        best = min(best, len);
        restore_best(len > best, n, lid);
        save_best(n, lid);
    }
    for (var k = lid; k < n; k += WG) {
        tours[inst.offset + k] = best_tour[k];
    }
    if (lid == 0u) {
        outcomes[id] = Outcome(best, rounds, since, 0u);
    }
}

@compute @workgroup_size(256)
fn best_move(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
    let id = instance_index(wid, groups);
    if (id >= arrayLength(&instances)) {
        return;
    }
    let inst = instances[id];
    load(inst, lid);
    refresh(inst.n, lid);
    var bg = 0.0;
    var bc = NONE;
    scan_2opt(inst.n, lid, &bg, &bc);
    red_gain[lid] = bg;
    red_move[lid] = bc;
    let code = reduce_best(lid);
    if (lid == 0u) {
        if (code == NONE) {
            outcomes[id] = Outcome(0.0, NONE, NONE, 0u);
        } else {
            outcomes[id] = Outcome(red_gain[0], (code >> 8u) & 0xffu, code & 0xffu, 0u);
        }
    }
}
