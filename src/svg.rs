//! `--format svg`: a picture of a tour, so a person can look at the result.
//!
//! Plain SVG text, no dependencies: the route as one polyline and the stops
//! as dots, the start in red. Above [`MAX_VERTICES`] stops the polyline keeps
//! every k-th stop, and above [`MAX_DOTS`] the dots are left out, so a
//! 10^6-point tour stays a file a browser opens.

use std::fmt::Write;

/// Polyline vertices at most.
pub const MAX_VERTICES: usize = 100_000;
/// Stops drawn as dots at most.
pub const MAX_DOTS: usize = 20_000;
const SIZE: f64 = 1000.0;
const MARGIN: f64 = 10.0;

/// The tour through `xy` (already projected, y growing upwards) in visiting
/// order, closed back to the first stop when `closed`.
pub fn tour(xy: &[[f64; 2]], closed: bool, title: &str) -> String {
    let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
    for p in xy {
        for k in 0..2 {
            lo[k] = lo[k].min(p[k]);
            hi[k] = hi[k].max(p[k]);
        }
    }
    let span = (hi[0] - lo[0]).max(hi[1] - lo[1]).max(f64::MIN_POSITIVE);
    let scale = (SIZE - 2.0 * MARGIN) / span;
    let (w, h) = if xy.is_empty() {
        (SIZE, SIZE)
    } else {
        ((hi[0] - lo[0]) * scale + 2.0 * MARGIN, (hi[1] - lo[1]) * scale + 2.0 * MARGIN)
    };
    let at = |p: &[f64; 2]| ((p[0] - lo[0]) * scale + MARGIN, (hi[1] - p[1]) * scale + MARGIN);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.1} {h:.1}">"#
    );
    let _ = writeln!(s, "<title>{}</title>", escape(title));
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let step = xy.len().div_ceil(MAX_VERTICES).max(1);
    let mut line: Vec<&[f64; 2]> = xy.iter().step_by(step).collect();
    if closed && xy.len() > 1 {
        line.push(&xy[0]);
    }
    s.push_str(r##"<polyline fill="none" stroke="#1f5fa8" stroke-width="1" stroke-linejoin="round" points=""##);
    for p in line {
        let (x, y) = at(p);
        let _ = write!(s, "{x:.1},{y:.1} ");
    }
    s.push_str("\"/>\n");
    if xy.len() <= MAX_DOTS {
        s.push_str(r##"<g fill="#222">"##);
        for p in xy.iter().skip(1) {
            let (x, y) = at(p);
            let _ = write!(s, r#"<circle cx="{x:.1}" cy="{y:.1}" r="2"/>"#);
        }
        s.push_str("</g>\n");
    }
    if let Some(p) = xy.first() {
        let (x, y) = at(p);
        let _ = writeln!(s, r##"<circle cx="{x:.1}" cy="{y:.1}" r="4" fill="#d62728"/>"##);
    }
    s.push_str("</svg>\n");
    s
}

/// `[lat, lon]` stops as x = lon·cos(mean lat), y = lat: an equirectangular
/// view true to scale near the middle of the tour.
pub fn project_geographic(coords: &[[f64; 2]]) -> Vec<[f64; 2]> {
    let mean = coords.iter().map(|p| p[0]).sum::<f64>() / coords.len().max(1) as f64;
    let c = mean.to_radians().cos();
    coords.iter().map(|p| [p[1] * c, p[0]]).collect()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_every_stop_and_closes_the_route() {
        let xy = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]];
        let s = tour(&xy, true, "a <b>");
        assert!(s.starts_with("<svg") && s.trim_end().ends_with("</svg>"));
        assert_eq!(s.matches("<circle").count(), 3, "two dots and the start");
        let points = s.split("points=\"").nth(1).and_then(|r| r.split('"').next()).unwrap_or("");
        assert_eq!(points.split_whitespace().count(), 4, "three stops and back to the start");
        assert!(s.contains("a &lt;b&gt;"));
    }

    #[test]
    fn large_tours_are_downsampled() {
        let xy: Vec<[f64; 2]> = (0..MAX_VERTICES * 3).map(|i| [i as f64, (i % 7) as f64]).collect();
        let s = tour(&xy, false, "big");
        let points = s.split("points=\"").nth(1).and_then(|r| r.split('"').next()).unwrap_or("");
        assert!(points.split_whitespace().count() <= MAX_VERTICES);
        assert_eq!(s.matches("<circle").count(), 1, "only the start above MAX_DOTS");
    }
}
