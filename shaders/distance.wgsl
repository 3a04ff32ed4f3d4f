// Distance matrix for a block of rows: an invocation fills one column of
// ROWS consecutive rows, so it loads its column's point once for ROWS
// stores; the invocations of a row store side by side (coalesced).
//
// Points arrive split as f32 `hi + lo` (unit vectors for haversine, centred
// planar coordinates for euclidean), exactly as the CPU SIMD kernel splits
// them: `(hi_q - hi_p) + (lo_q - lo_p)` keeps full f32 relative precision for
// short distances. Haversine is `arc` (common.wgsl): no trigonometry per pair.
//
// The output binding holds `rows` rows of `stride` floats starting at row
// `row0`; the host binds the matrix in such blocks when it exceeds the
// storage binding limit.

struct Params {
    n: u32,
    stride: u32,
    row0: u32,
    rows: u32,
    // 1: haversine (scale = 2R), 0: euclidean.
    sphere: u32,
    scale: f32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> hi: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> lo: array<vec4<f32>>;
// Four columns per invocation with one vec4 store ran at 765 GiB/s on an
// H100 against one entry per invocation's 1,122 (BENCHMARKS.md).
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// Rows per invocation: `matrix.rs` dispatches rows / (4 ROWS) workgroups down.
const ROWS: u32 = 16u;

@compute @workgroup_size(64, 4)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let j = gid.x;
    if (j >= params.stride) {
        return;
    }
    // Padding columns (j >= n) are zero.
    let real = j < params.n;
    let jj = min(j, params.n - 1u);
    let hj = hi[jj].xyz;
    let lj = lo[jj].xyz;
    let r0 = gid.y * ROWS;
    for (var r = r0; r < min(r0 + ROWS, params.rows); r++) {
        let i = params.row0 + r;
        let v = (hj - hi[i].xyz) + (lj - lo[i].xyz);
        var d = sqrt(dot(v, v));
        if (params.sphere != 0u) {
            d = arc(v, (hj + hi[i].xyz) + (lj + lo[i].xyz), params.scale);
        }
        out[r * params.stride + j] = select(0.0, d, real);
    }
}
