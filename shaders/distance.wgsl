// Distance matrix, one invocation per entry, for a block of rows.
//
// Points arrive split as f32 `hi + lo` (unit vectors for haversine, centred
// planar coordinates for euclidean), exactly as the CPU SIMD kernel splits
// them: `(hi_q - hi_p) + (lo_q - lo_p)` keeps full f32 relative precision for
// short distances. Haversine is 2R·asin(chord/2): no trigonometry per pair.
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
// One entry per invocation: four per invocation with one vec4 store ran at
// 765 GiB/s on an H100 against this kernel's 1,122 (BENCHMARKS.md).
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64, 4)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let j = gid.x;
    let r = gid.y;
    if (j >= params.stride || r >= params.rows) {
        return;
    }
    let i = params.row0 + r;
    var d = 0.0;
    if (j < params.n) {
        let v = (hi[j].xyz - hi[i].xyz) + (lo[j].xyz - lo[i].xyz);
        let chord = sqrt(dot(v, v));
        d = select(chord, params.scale * asin_01(min(chord * 0.5, 1.0)), params.sphere != 0u);
    }
    out[r * params.stride + j] = d;
}
