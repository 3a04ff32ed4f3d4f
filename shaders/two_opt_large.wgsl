// 2-opt moves of one large tour over its neighbour lists, all at once.
//
// `positions` rebuilds the position index from the tour the host uploaded;
// `evaluate` then runs one invocation per node a: for each of a's K nearest
// neighbours c, the two 2-opt moves that add the edge (a, c), one removing
// the edges to the successors of a and c, one those to their predecessors.
// Each node appends its best move (if its gain exceeds eps_rel × the edges
// it removes) to `moves` through an atomic counter. The GPU only proposes:
// the host checks every move in f64 with the exact metric, picks a set of
// moves that do not overlap and applies them.
//
// A move (i, j), i < j, removes the tour edges at positions i and j (edge p
// joins tour[p] and tour[p + 1 mod n]) and reverses tour[i + 1 ..= j].
//
// Distances are straight lines in the metric's embedding (the chord between
// unit vectors for the sphere metrics): enough to rank moves. Points come
// split as f32 hi + lo, as for the distance matrix, so that differences of
// nearby points keep full f32 precision far from the origin.

struct Params {
    n: u32,
    // Neighbours per node in `neighbors` (short lists padded).
    k: u32,
    eps_rel: f32,
    // Invocations per grid row: larger tours use a second dimension.
    width: u32,
}

struct Move {
    gain: f32,
    i: u32,
    j: u32,
    // The node that proposes it.
    node: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> hi: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> lo: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> neighbors: array<u32>;
@group(0) @binding(4) var<storage, read> tour: array<u32>;
@group(0) @binding(5) var<storage, read_write> pos: array<u32>;
@group(0) @binding(6) var<storage, read_write> moves: array<Move>;
@group(0) @binding(7) var<storage, read_write> count: atomic<u32>;

fn dist(a: u32, b: u32) -> f32 {
    let v = (hi[b].xyz - hi[a].xyz) + (lo[b].xyz - lo[a].xyz);
    return sqrt(dot(v, v));
}

fn next(p: u32) -> u32 {
    return select(p + 1u, 0u, p + 1u == params.n);
}

fn prev(p: u32) -> u32 {
    return select(p - 1u, params.n - 1u, p == 0u);
}

@compute @workgroup_size(256)
fn positions(@builtin(global_invocation_id) gid: vec3<u32>) {
    let p = gid.y * params.width + gid.x;
    if (p < params.n) {
        pos[tour[p]] = p;
    }
}

@compute @workgroup_size(256)
fn evaluate(@builtin(global_invocation_id) gid: vec3<u32>) {
    let a = gid.y * params.width + gid.x;
    if (a >= params.n) {
        return;
    }
    let at = pos[a];
    let sa = tour[next(at)];
    let pa = tour[prev(at)];
    let d_sa = dist(a, sa);
    let d_pa = dist(pa, a);
    var best = 0.0;
    var bi = 0u;
    var bj = 0u;
    for (var q = 0u; q < params.k; q++) {
        let c = neighbors[a * params.k + q];
        let ct = pos[c];
        let d_ac = dist(a, c);
        // Successors: remove (a, sa) and (c, sc), add (a, c) and (sa, sc).
        let sc = tour[next(ct)];
        if (c != a && c != sa && sc != a) {
            let removed = d_sa + dist(c, sc);
            let gain = removed - d_ac - dist(sa, sc);
            if (gain > params.eps_rel * removed && gain > best) {
                best = gain;
                bi = min(at, ct);
                bj = max(at, ct);
            }
        }
        // Predecessors: remove (pa, a) and (pc, c), add (a, c) and (pa, pc).
        let pc = tour[prev(ct)];
        if (c != a && c != pa && pc != a) {
            let removed = d_pa + dist(pc, c);
            let gain = removed - d_ac - dist(pa, pc);
            if (gain > params.eps_rel * removed && gain > best) {
                best = gain;
                bi = min(prev(at), prev(ct));
                bj = max(prev(at), prev(ct));
            }
        }
    }
    if (best > 0.0) {
        let slot = atomicAdd(&count, 1u);
        moves[slot] = Move(best, bi, bj, a);
    }
}
