// Distance matrix, four entries per invocation, for a block of rows.
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
// Four entries (one vec4 store) per invocation: stride is a multiple of 8.
@group(0) @binding(3) var<storage, read_write> out: array<vec4<f32>>;

@compute @workgroup_size(64, 4)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let q = gid.x;
    let r = gid.y;
    let width = params.stride / 4u;
    if (q >= width || r >= params.rows) {
        return;
    }
    let i = params.row0 + r;
    let hi_i = hi[i].xyz;
    let lo_i = lo[i].xyz;
    var d = vec4<f32>(0.0);
    for (var c = 0u; c < 4u; c++) {
        let j = 4u * q + c;
        if (j < params.n) {
            let v = (hi[j].xyz - hi_i) + (lo[j].xyz - lo_i);
            let chord = sqrt(dot(v, v));
            d[c] = select(chord, params.scale * asin_01(min(chord * 0.5, 1.0)), params.sphere != 0u);
        }
    }
    out[r * width + q] = d;
}
