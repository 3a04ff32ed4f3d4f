// Shared by the kernels (prepended to each module by the host).

// asin on [0, 1] to about one ulp (Cephes' asinf): drivers' built-in asin
// may be far coarser (lavapipe's is off by 4e-5 relative near 1), and
// haversine distances go through it.
fn asin_01(x: f32) -> f32 {
    let big = x > 0.5;
    let z = select(x * x, 0.5 * (1.0 - x), big);
    let s = select(x, sqrt(z), big);
    let p = ((((4.2163199048e-2 * z + 2.4181311049e-2) * z + 4.5470025998e-2) * z + 7.4953002686e-2) * z
        + 1.6666752422e-1) * z * s + s;
    return select(p, 1.5707963267948966 - 2.0 * p, big);
}

// Great-circle distance, `scale` = 2R, from the chord v = q - p between unit
// vectors and their sum s = p + q: 2R·asin(|v|/2), or past 90° (|v|² > 2)
// 2R·(π/2 - asin(|s|/2)). asin is too steep near 1 for f32 (4 km off near
// antipodes), and there |s| is short and keeps its precision.
fn arc(v: vec3<f32>, s: vec3<f32>, scale: f32) -> f32 {
    let c2 = dot(v, v);
    if (c2 > 2.0) {
        return scale * (1.5707963267948966 - asin_01(min(sqrt(dot(s, s)) * 0.5, 1.0)));
    }
    return scale * asin_01(min(sqrt(c2) * 0.5, 1.0));
}
