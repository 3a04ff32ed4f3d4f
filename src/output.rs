//! Outputs: a `Prediction` for every solved request, an `ErrorRecord` for
//! every rejected one. Front ends only choose the UUID and the source.

use crate::request::{Id, Rejected, Request};
use crate::solver::Solution;
use serde::Serialize;

/// Where a record came from (Kinesis shard and sequence number).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Source {
    pub shard_id: String,
    pub sequence_number: String,
}

/// A duration as milliseconds with microsecond resolution, as outputs report it.
pub fn millis(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

#[derive(Clone, Debug, Serialize)]
pub struct SolverInfo {
    pub backend: &'static str,
    /// Solve time. Stream front ends drop it (it goes to their metrics) so
    /// that a redelivered record whose search ends on its own (not on a
    /// clock) yields a byte-identical output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ms: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Prediction {
    #[serde(rename = "UUID")]
    pub uuid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<Id>,
    /// Names in visiting order, closed back to the start for a round trip.
    pub route: Vec<String>,
    /// 0-based indices into the request, same shape as `route`.
    pub order: Vec<usize>,
    /// `[lat, lon]` along the route.
    pub coordinates: Vec<[f64; 2]>,
    /// Total length (km; the coordinates' unit for the euclidean metric).
    pub distance_km: f64,
    pub legs_km: Vec<f64>,
    /// Proved optimal by the exact solver.
    pub optimal: bool,
    pub solver: SolverInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
}

impl Prediction {
    /// The prediction for `req` from its solution; an error (never a panic
    /// that would take the rest of the batch with it) when the solution is
    /// not a route through the request's points.
    pub fn new(uuid: String, req: &Request, sol: &Solution, source: Option<Source>) -> Result<Prediction, String> {
        let n = req.problem.points.len();
        let Some(&first) = sol.order.first() else {
            return Err("the solver returned an empty route".into());
        };
        if let Some(&bad) = sol.order.iter().find(|&&i| i >= n) {
            return Err(format!("the solver returned point {bad} of a request with {n}"));
        }
        let mut order = sol.order.clone();
        if req.problem.round_trip {
            order.push(first);
        }
        Ok(Prediction {
            uuid,
            id: req.id.clone(),
            route: order.iter().map(|&i| req.name(i)).collect(),
            coordinates: order.iter().map(|&i| req.problem.points[i]).collect(),
            order,
            distance_km: sol.length,
            legs_km: sol.legs.clone(),
            optimal: sol.optimal,
            solver: SolverInfo { backend: sol.backend, ms: Some(millis(sol.elapsed)) },
            source,
        })
    }

    /// The shortest prediction any solution of `req` can give: the same
    /// names, indices and coordinates in some order, but every leg and the
    /// distance 0, no backend name, proved optimal, and one leg fewer than a
    /// round trip has. Its size bounds the real one's from below.
    pub fn floor(uuid: String, req: &Request, source: Option<Source>) -> Result<Prediction, String> {
        let n = req.problem.points.len();
        let start = req.problem.start;
        let sol = Solution {
            // A round trip closes with its start's name, as the real one does.
            order: (start..n).chain(0..start).collect(),
            length: 0.0,
            legs: vec![0.0; n.saturating_sub(1)],
            optimal: true,
            backend: "",
            elapsed: std::time::Duration::ZERO,
            kicks: 0,
        };
        let mut p = Prediction::new(uuid, req, &sol, source)?;
        p.solver.ms = None;
        Ok(p)
    }

    /// How many stops the route visits: `order` without a round trip's
    /// return to its start.
    pub fn stops(&self) -> usize {
        self.order.len() - usize::from(self.order.len() > 1 && self.order.first() == self.order.last())
    }

    /// A GeoJSON FeatureCollection ([lon, lat]): the route as a LineString and
    /// each stop as a Point with its name and position in the route.
    pub fn to_geojson(&self) -> GeoJson<'_> {
        let line: Vec<[f64; 2]> = self.coordinates.iter().map(|p| [p[1], p[0]]).collect();
        let stops: Vec<Feature> = (0..self.stops())
            .map(|k| Feature {
                kind: "Feature",
                geometry: Geometry::Point { coordinates: line[k] },
                properties: Properties::Stop { name: &self.route[k], index: self.order[k], stop: k },
            })
            .collect();
        // A LineString needs two positions: a one-stop path's is its stop
        // twice, as a one-stop round trip's is (and the route feature,
        // which holds the UUID and id, is always there).
        let mut line = line;
        if line.len() == 1 {
            line.push(line[0]);
        }
        let route = (!line.is_empty()).then(|| Feature {
            kind: "Feature",
            geometry: route_geometry(line),
            properties: Properties::Route {
                uuid: &self.uuid,
                id: &self.id,
                distance_km: self.distance_km,
                optimal: self.optimal,
                backend: self.solver.backend,
            },
        });
        GeoJson { kind: "FeatureCollection", features: route.into_iter().chain(stops).collect() }
    }
}

/// A prediction as GeoJSON, written straight from it (no JSON tree, so the
/// `id` keeps its text).
#[derive(Serialize)]
pub struct GeoJson<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    features: Vec<Feature<'a>>,
}

#[derive(Serialize)]
struct Feature<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    geometry: Geometry,
    properties: Properties<'a>,
}

#[derive(Serialize)]
#[serde(tag = "type")]
enum Geometry {
    LineString { coordinates: Vec<[f64; 2]> },
    MultiLineString { coordinates: Vec<Vec<[f64; 2]>> },
    Point { coordinates: [f64; 2] },
}

/// The route's `[lon, lat]` positions as one LineString, or, where a leg
/// crosses the antimeridian (its stops more than 180° of longitude apart, so
/// the short way is across ±180°), a MultiLineString cut there, as RFC 7946
/// §3.1.9 asks: a map draws a LineString's leg from 179° to -179° as a
/// line across the whole world. The cut's latitude is on the straight line
/// between the stops in longitude and latitude, which is how GeoJSON reads
/// a leg. A stop on the antimeridian (±180°) is written on the side its
/// leg comes from (the first stop: the side its leg goes to), so that no
/// leg ends in a cut and no piece is a single place.
fn route_geometry(mut line: Vec<[f64; 2]>) -> Geometry {
    for k in 0..line.len() {
        let toward = if k > 0 { line.get(k - 1) } else { line.get(1) };
        if line[k][0].abs() == 180.0 {
            if let Some(&[lon, _]) = toward {
                line[k][0] = if lon < 0.0 { -180.0 } else { 180.0 };
            }
        }
    }
    let crosses = |a: [f64; 2], b: [f64; 2]| (b[0] - a[0]).abs() > 180.0;
    if !line.windows(2).any(|w| crosses(w[0], w[1])) {
        return Geometry::LineString { coordinates: line };
    }
    let mut pieces = vec![vec![line[0]]];
    for w in line.windows(2) {
        let ([lon1, lat1], [lon2, lat2]) = (w[0], w[1]);
        if crosses(w[0], w[1]) {
            // Going east across +180° when lon2 lies west of lon1, else west across -180°.
            let side = if lon2 < lon1 { 180.0 } else { -180.0 };
            let unwrapped = lon2 + 2.0 * side;
            let t = (side - lon1) / (unwrapped - lon1);
            let lat = lat1 + t * (lat2 - lat1);
            // A leg from a stop on the antimeridian is cut at that stop.
            if lon1 != side {
                if let Some(piece) = pieces.last_mut() {
                    piece.push([side, lat]);
                }
            }
            pieces.push(vec![[-side, lat]]);
        }
        if let Some(piece) = pieces.last_mut() {
            piece.push([lon2, lat2]);
        }
    }
    Geometry::MultiLineString { coordinates: pieces }
}

#[derive(Serialize)]
#[serde(untagged)]
enum Properties<'a> {
    Route {
        #[serde(rename = "UUID")]
        uuid: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        id: &'a Option<Id>,
        distance_km: f64,
        optimal: bool,
        backend: &'static str,
    },
    Stop {
        name: &'a str,
        index: usize,
        stop: usize,
    },
}

#[derive(Clone, Debug, Serialize)]
pub struct ErrorBody {
    pub code: &'static str,
    pub message: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct ErrorRecord {
    #[serde(rename = "UUID")]
    pub uuid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<Id>,
    pub error: ErrorBody,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
}

impl ErrorRecord {
    pub fn new(uuid: String, rejected: &Rejected, source: Option<Source>) -> ErrorRecord {
        ErrorRecord {
            uuid,
            id: rejected.id.clone(),
            error: ErrorBody { code: rejected.error.code(), message: rejected.error.to_string() },
            source,
        }
    }
}

/// Exactly one of these per record read.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum Output {
    Prediction(Prediction),
    Error(ErrorRecord),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metric::Metric;
    use crate::solver::Problem;
    use std::time::Duration;

    /// A numeric id f64 would round keeps its digits in JSON and in GeoJSON.
    #[test]
    fn ids_keep_their_text() {
        let id = "123456789012345678901234567890";
        let mut req = request();
        req.id = Some(serde_json::from_str(id).unwrap());
        let p = Prediction::new("u".into(), &req, &solution(vec![0, 1, 2]), None).unwrap();
        let json = serde_json::to_string(&p).unwrap();
        assert!(json.starts_with(&format!(r#"{{"UUID":"u","id":{id},"route":"#)), "{json}");
        let geo = serde_json::to_string(&p.to_geojson()).unwrap();
        assert!(geo.contains(&format!(r#""properties":{{"UUID":"u","id":{id},"distance_km""#)), "{geo}");
    }

    /// Legs across ±180° (Fiji, Samoa, Tonga) are cut there, each side of a
    /// cut at the same latitude; other legs stay whole and in order.
    #[test]
    fn a_route_across_the_antimeridian_is_cut_there() {
        let line = vec![[178.4, -18.1], [-171.8, -13.8], [-179.0, -17.7], [179.5, -16.0], [178.4, -18.1]];
        let Geometry::MultiLineString { coordinates: pieces } = route_geometry(line.clone()) else { panic!("not cut") };
        // Crossings: 178.4 → -171.8 (east), -179.0 → 179.5 (west).
        assert_eq!(pieces.len(), 3, "{pieces:?}");
        for w in pieces.windows(2) {
            let (end, start) = (w[0][w[0].len() - 1], w[1][0]);
            assert_eq!(end[0].abs(), 180.0, "{pieces:?}");
            assert_eq!((start[0], start[1]), (-end[0], end[1]), "{pieces:?}");
        }
        // East across +180: 1.6° of the 9.8° the leg spans, on the straight line.
        let cut = pieces[0][1];
        assert_eq!(cut[0], 180.0);
        assert!((cut[1] - (-18.1 + 1.6 / 9.8 * 4.3)).abs() < 1e-12, "{cut:?}");
        assert_eq!(pieces[1][pieces[1].len() - 1][0], -180.0, "west across -180");
        // No leg inside a piece crosses, and without the cuts the stops are the line.
        let stops: Vec<[f64; 2]> = pieces
            .iter()
            .enumerate()
            .flat_map(|(k, p)| {
                let (from, to) = (usize::from(k > 0), p.len() - usize::from(k + 1 < pieces.len()));
                p[from..to].to_vec()
            })
            .collect();
        assert_eq!(stops, line);
        assert!(pieces.iter().flatten().all(|p| p[0].abs() <= 180.0));
        assert!(pieces.iter().all(|p| p.windows(2).all(|w| (w[1][0] - w[0][0]).abs() <= 180.0)));
        // A route that stays on one side is one LineString.
        let near = vec![[170.0, 0.0], [179.9, 1.0], [10.0, 2.0], [170.0, 0.0]];
        assert!(matches!(route_geometry(near.clone()), Geometry::LineString { coordinates } if coordinates == near));
        // Stops on the antimeridian: written on their leg's side, so that
        // no piece is one place twice; one reached from and left to the
        // same side needs no cut at all.
        let on = vec![[-180.0, 5.0], [179.0, 6.0], [180.0, 7.0], [-179.0, 8.0], [-100.0, 0.0], [180.0, 5.0]];
        let Geometry::MultiLineString { coordinates: pieces } = route_geometry(on) else { panic!("not cut") };
        assert_eq!(
            pieces,
            [
                vec![[180.0, 5.0], [179.0, 6.0], [180.0, 7.0]],
                vec![[-180.0, 7.0], [-179.0, 8.0], [-100.0, 0.0], [-180.0, 5.0]]
            ]
        );
        let one_side = vec![[170.0, 0.0], [-180.0, 1.0], [175.0, 2.0]];
        assert!(matches!(route_geometry(one_side), Geometry::LineString { coordinates }
            if coordinates == [[170.0, 0.0], [180.0, 1.0], [175.0, 2.0]]));
    }

    fn request() -> Request {
        let points = vec![[41.8781, -87.6298], [40.7128, -74.006], [34.0522, -118.2437]];
        let names = Some(vec!["Chicago".into(), "New York".into(), "Los Angeles".into()]);
        Request { id: None, names, problem: Problem::round_trip(points, Metric::Haversine) }
    }

    fn solution(order: Vec<usize>) -> Solution {
        Solution {
            length: 1.0,
            legs: vec![1.0],
            order,
            optimal: false,
            backend: "cpu-simd-avx2",
            elapsed: Duration::ZERO,
            kicks: 0,
        }
    }

    #[test]
    fn a_route_closes_back_to_its_start() {
        let p = Prediction::new("u".into(), &request(), &solution(vec![2, 0, 1]), None).expect("valid route");
        assert_eq!(p.order, vec![2, 0, 1, 2]);
        assert_eq!(p.route, ["Los Angeles", "Chicago", "New York", "Los Angeles"]);
        assert_eq!(p.coordinates[1], [41.8781, -87.6298]);
    }

    #[test]
    fn a_solution_outside_the_request_is_an_error_not_a_panic() {
        let e = Prediction::new("u".into(), &request(), &solution(vec![0, 3, 1]), None).expect_err("point 3 of 3");
        assert!(e.contains("point 3") && e.contains("with 3"), "{e}");
        let e = Prediction::new("u".into(), &request(), &solution(vec![]), None).expect_err("empty route");
        assert!(e.contains("empty"), "{e}");
    }
}
