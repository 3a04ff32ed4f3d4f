//! `--format svg`: a picture of a tour, so a person can look at the result.
//!
//! Plain SVG text, no dependencies: the route as one polyline and the stops
//! as dots, the start in red (an open path's end as a red ring). Above [`MAX_VERTICES`] stops the polyline keeps
//! every k-th stop, and above [`MAX_DOTS`] the dots are left out, so a
//! 10^6-point tour stays a file a browser opens.

use std::fmt::Write;

/// Stops the polyline keeps at most, besides the last and the way back.
pub const MAX_VERTICES: usize = 100_000;
/// Stops drawn as dots at most.
pub const MAX_DOTS: usize = 20_000;
const SIZE: f64 = 1000.0;
const MARGIN: f64 = 10.0;
/// Smallest side of the picture: one stop, or stops all in one place or on
/// one line, still make a picture to look at, the stops in its middle.
const MIN_SIDE: f64 = 100.0;

/// The tour through `xy` (already projected, y growing upwards) in visiting
/// order: a round trip closed by a line to `close_to` (the first stop, or
/// where [`closing_point`] draws it), an open path (`None`) with its end
/// marked.
pub fn tour(xy: &[[f64; 2]], close_to: Option<[f64; 2]>, title: &str) -> String {
    let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
    for p in xy {
        for k in 0..2 {
            lo[k] = lo[k].min(p[k]);
            hi[k] = hi[k].max(p[k]);
        }
    }
    if xy.is_empty() {
        (lo, hi) = ([0.0; 2], [0.0; 2]);
    }
    // No extent (one stop, or all at one place): any scale draws them at
    // one point; a span too small to divide by is treated the same, so no
    // coordinate becomes NaN or infinite.
    let span = (hi[0] - lo[0]).max(hi[1] - lo[1]);
    let scale = Some((SIZE - 2.0 * MARGIN) / span).filter(|s| s.is_finite()).unwrap_or(0.0);
    let extent = [(hi[0] - lo[0]) * scale, (hi[1] - lo[1]) * scale];
    let (w, h) = ((extent[0] + 2.0 * MARGIN).max(MIN_SIDE), (extent[1] + 2.0 * MARGIN).max(MIN_SIDE));
    // The drawing centred in the picture.
    let pad = [(w - extent[0]) / 2.0, (h - extent[1]) / 2.0];
    let at = |p: &[f64; 2]| ((p[0] - lo[0]) * scale + pad[0], (hi[1] - p[1]) * scale + pad[1]);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.1} {h:.1}">"#
    );
    let _ = writeln!(s, "<title>{}</title>", escape(title));
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let step = xy.len().div_ceil(MAX_VERTICES).max(1);
    let mut line: Vec<&[f64; 2]> = xy.iter().step_by(step).collect();
    // The last stop stays on a thinned line: the end's ring, or the
    // closing leg from it, is drawn from there.
    if let Some(last) = xy.last().filter(|_| !(xy.len() - 1).is_multiple_of(step)) {
        line.push(last);
    }
    if let Some(p) = close_to.as_ref().filter(|_| xy.len() > 1) {
        line.push(p);
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
    if let Some(p) = xy.last().filter(|_| close_to.is_none() && xy.len() > 1) {
        let (x, y) = at(p);
        let _ =
            writeln!(s, r##"<circle cx="{x:.1}" cy="{y:.1}" r="4" fill="white" stroke="#d62728" stroke-width="2"/>"##);
    }
    if let Some(p) = xy.first() {
        let (x, y) = at(p);
        let _ = writeln!(s, r##"<circle cx="{x:.1}" cy="{y:.1}" r="4" fill="#d62728"/>"##);
    }
    s.push_str("</svg>\n");
    s
}

/// `[lat, lon]` stops in visiting order as x = lon·cos(mean lat), y = lat:
/// an equirectangular view true to scale near the middle of the tour. Each
/// longitude is taken within 180° of the one before (± 360°), so a leg
/// across the antimeridian is drawn as the short hop it is, not across the
/// whole picture. Only a tour that goes round the globe keeps one seam.
/// A pole, one place at every longitude, keeps the longitude of the stop
/// before it (the first stop's, the first off a pole).
pub fn project_geographic(coords: &[[f64; 2]]) -> Vec<[f64; 2]> {
    let mean = coords.iter().map(|p| p[0]).sum::<f64>() / coords.len().max(1) as f64;
    let c = mean.to_radians().cos();
    let off_pole = |p: &&[f64; 2]| p[0].abs() < 90.0;
    let mut lon = coords.iter().find(off_pole).map_or(0.0, |p| p[1]);
    coords
        .iter()
        .map(|p| {
            if off_pole(&p) {
                lon += (p[1] - lon + 180.0).rem_euclid(360.0) - 180.0;
            }
            [lon * c, p[0]]
        })
        .collect()
}

/// Where a geographic round trip's closing line ends: the first stop as
/// [`project_geographic`] placed it, but a pole, which that places at the
/// longitude of the first stop off it, at the longitude of the last stop,
/// the stop before it on the closing leg (else that leg ran along the
/// pole's line in the picture, a diagonal across it).
pub fn closing_point(coords: &[[f64; 2]], xy: &[[f64; 2]]) -> Option<[f64; 2]> {
    let (first, last) = (*xy.first()?, *xy.last()?);
    Some(if coords.first()?[0].abs() >= 90.0 { [last[0], first[1]] } else { first })
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
        let s = tour(&xy, Some(xy[0]), "a <b>");
        assert!(s.starts_with("<svg") && s.trim_end().ends_with("</svg>"));
        assert_eq!(s.matches("<circle").count(), 3, "two dots and the start");
        let points = s.split("points=\"").nth(1).and_then(|r| r.split('"').next()).unwrap_or("");
        assert_eq!(points.split_whitespace().count(), 4, "three stops and back to the start");
        assert!(s.contains("a &lt;b&gt;"));
    }

    /// Width, height and every number in the picture are finite.
    fn finite_picture(s: &str) -> (f64, f64) {
        let attr = |name: &str| -> f64 {
            let v = s.split(&format!("{name}=\"")).nth(1).and_then(|r| r.split('"').next()).unwrap_or("");
            v.parse().unwrap_or(f64::NAN)
        };
        assert!(!s.contains("NaN") && !s.contains("inf"), "{s}");
        (attr("width"), attr("height"))
    }

    #[test]
    fn one_stop_or_one_place_is_a_picture() {
        for xy in [vec![[5.0, 7.0]], vec![[5.0, 7.0]; 3], vec![[0.0, 0.0], [5e-324, 0.0]], vec![]] {
            let s = tour(&xy, xy.first().copied(), "one");
            let (w, h) = finite_picture(&s);
            assert!(w >= MIN_SIDE && h >= MIN_SIDE, "{w} x {h}: {s}");
            assert_eq!(s.matches("<circle").count(), xy.len(), "{s}");
        }
        // Stops on one line: a wide picture, as tall as the smallest side.
        let (w, h) = finite_picture(&tour(&[[0.0, 1.0], [10.0, 1.0]], None, "line"));
        assert_eq!((w, h), (SIZE, MIN_SIDE));
    }

    #[test]
    fn a_route_across_the_antimeridian_stays_in_one_piece() {
        // Fiji, Samoa, Tonga and back: legs of a few degrees across ±180.
        let stops = [[-18.1, 178.4], [-13.8, -171.8], [-21.1, -175.2], [-17.7, 177.4]];
        let xy = project_geographic(&stops);
        let c = (stops.iter().map(|p| p[0]).sum::<f64>() / 4.0).to_radians().cos();
        let want = [178.4, 188.2, 184.8, 177.4];
        for (k, p) in xy.iter().enumerate() {
            assert!((p[0] - want[k] * c).abs() < 1e-9 && p[1] == stops[k][0], "{k}: {p:?}");
        }
        // Plain longitudes elsewhere are kept as they are.
        let us = project_geographic(&[[41.9, -87.6], [40.7, -74.0], [34.1, -118.2]]);
        let c = ((41.9f64 + 40.7 + 34.1) / 3.0).to_radians().cos();
        for (p, lon) in us.iter().zip([-87.6, -74.0, -118.2]) {
            assert!((p[0] - lon * c).abs() < 1e-9, "{p:?}");
        }
    }

    /// The north pole given at three longitudes is one place: one dot in
    /// a picture of the smallest size. Beside other stops it is drawn at
    /// the longitude of the stop before it.
    #[test]
    fn a_pole_is_one_place() {
        let xy = project_geographic(&[[90.0, 0.0], [90.0, 50.0], [90.0, -120.0]]);
        assert!(xy.iter().all(|p| *p == xy[0]), "{xy:?}");
        assert!(tour(&xy, Some(xy[0]), "pole").contains(r#"width="100" height="100""#));
        let xy = project_geographic(&[[90.0, 50.0], [80.0, 10.0], [90.0, -120.0], [80.0, 30.0]]);
        let c = 85f64.to_radians().cos();
        for (p, lon) in xy.iter().zip([10.0, 10.0, 10.0, 30.0]) {
            assert!((p[0] - lon * c).abs() < 1e-9, "{xy:?}");
        }
    }

    /// An open path's end is a ring; a round trip has none and closes its line.
    #[test]
    fn an_open_path_marks_its_end() {
        let xy = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]];
        let (open, closed) = (tour(&xy, None, "path"), tour(&xy, Some(xy[0]), "trip"));
        let rings = |s: &str| s.matches(r#"fill="white" stroke="#).count();
        assert_eq!((rings(&open), rings(&closed)), (1, 0));
        assert!(open.contains(r#"<circle cx="990.0" cy="10.0" r="4" fill="white""#), "{open}");
        let points = |s: &str| s.split("points=\"").nth(1).and_then(|r| r.split('"').next()).unwrap_or("").to_string();
        assert_eq!(points(&open).split_whitespace().count(), 3);
        assert_eq!(points(&closed).split_whitespace().count(), 4);
    }

    /// A round trip from the north pole comes back to it at the last stop's
    /// longitude (straight up the picture), not at the first stop's.
    #[test]
    fn a_round_trip_from_a_pole_closes_straight_to_it() {
        let stops = [[90.0, 0.0], [89.0, 10.0], [89.0, 100.0]];
        let xy = project_geographic(&stops);
        let end = closing_point(&stops, &xy).expect("stops");
        assert_eq!(end, [xy[2][0], 90.0]);
        assert_ne!(end, xy[0]);
        // Off the pole the line closes at the first stop as drawn.
        let us = [[41.9, -87.6], [40.7, -74.0], [34.1, -118.2]];
        let xy = project_geographic(&us);
        assert_eq!(closing_point(&us, &xy), Some(xy[0]));
        assert_eq!(closing_point(&[], &[]), None);
    }

    #[test]
    fn large_tours_are_downsampled() {
        let xy: Vec<[f64; 2]> = (0..MAX_VERTICES * 3).map(|i| [i as f64, (i % 7) as f64]).collect();
        let s = tour(&xy, None, "big");
        let points = s.split("points=\"").nth(1).and_then(|r| r.split('"').next()).unwrap_or("");
        assert!(points.split_whitespace().count() <= MAX_VERTICES + 1);
        // The line still ends at the last stop, where the end's ring is.
        let end = s.split(r#"<circle cx=""#).nth(1).and_then(|r| r.split('"').next()).unwrap_or("");
        assert_eq!(points.split_whitespace().last().and_then(|p| p.split(',').next()), Some(end), "{end}");
        assert_eq!(s.matches("<circle").count(), 2, "only the start and the end above MAX_DOTS");
    }
}
