//! End-to-end tests of the `route-optim` binary: request documents, arrays,
//! NDJSON streams, GeoJSON output, TSPLIB files and argument errors.

use route_optim::solver::GPU_MIN_BATCH;
use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

const BIN: &str = env!("CARGO_BIN_EXE_route-optim");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const SEED_REQUEST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/seed-request.json");
const TSPLIB_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/tsplib/");

/// Runs the binary from the crate root, `stdin` piped in when given.
fn run(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(ROOT)
        .env_remove("ROUTE_OPTIM_BACKEND")
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("starting route-optim");
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        let bytes = bytes.to_vec();
        // Write from a thread so a large input cannot deadlock against stdout.
        std::thread::spawn(move || pipe.write_all(&bytes).expect("writing stdin"));
    }
    child.wait_with_output().expect("waiting for route-optim")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("UTF-8 stdout")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs and expects success, returning stdout.
fn ok(args: &[&str], stdin: Option<&[u8]>) -> String {
    let o = run(args, stdin);
    assert!(o.status.success(), "{args:?} failed ({}): {}", o.status, stderr(&o));
    stdout(&o)
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// A file in the temp dir, unique to this process and call, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, contents: &[u8]) -> TempFile {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let k = COUNT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("route-optim-cli-{}-{k}-{name}", std::process::id()));
        std::fs::write(&path, contents).expect("writing a temp file");
        TempFile(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("UTF-8 temp path")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Great-circle distance on the mean sphere, written here independently of the crate.
fn haversine(a: [f64; 2], b: [f64; 2]) -> f64 {
    const R: f64 = 6371.0088;
    let (p1, p2) = (a[0].to_radians(), b[0].to_radians());
    let (dp, dl) = ((b[0] - a[0]).to_radians(), (b[1] - a[1]).to_radians());
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * R * h.sqrt().asin()
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-12)
}

fn point(v: &Value) -> [f64; 2] {
    [v[0].as_f64().unwrap(), v[1].as_f64().unwrap()]
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| if [8, 13, 18, 23].contains(&i) { c == '-' } else { c.is_ascii_hexdigit() })
        && uuid::Uuid::parse_str(s).is_ok()
}

/// Everything a prediction must satisfy: order and route agree with the
/// request, the legs are haversine distances that sum to the distance.
fn check_prediction(out: &Value, names: Option<&[&str]>, coords: &[[f64; 2]], round_trip: bool) {
    assert!(out.get("error").is_none(), "an error record: {out}");
    assert!(is_uuid(out["UUID"].as_str().unwrap()), "{}", out["UUID"]);
    let order: Vec<usize> = out["order"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
    let n = coords.len();
    assert_eq!(order.len(), if round_trip { n + 1 } else { n }, "{out}");
    if round_trip {
        assert_eq!(order[0], order[n], "a round trip returns to its start");
    }
    let mut seen = order[..n].to_vec();
    seen.sort_unstable();
    assert_eq!(seen, (0..n).collect::<Vec<_>>(), "not a permutation: {order:?}");
    let route: Vec<&str> = out["route"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    let route_coords: Vec<[f64; 2]> = out["coordinates"].as_array().unwrap().iter().map(point).collect();
    for (k, &i) in order.iter().enumerate() {
        let want = names.map_or(i.to_string(), |names| names[i].to_string());
        assert_eq!(route[k], want);
        // Within an ulp or two, not bit for bit: see `coordinates_are_echoed_exactly`.
        assert!(close(route_coords[k][0], coords[i][0], 1e-14) && close(route_coords[k][1], coords[i][1], 1e-14));
    }
    let legs: Vec<f64> = out["legs_km"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!(legs.len(), order.len() - 1);
    for (k, leg) in legs.iter().enumerate() {
        let d = haversine(coords[order[k]], coords[order[k + 1]]);
        assert!(close(*leg, d, 1e-9), "leg {k}: {leg} vs {d}");
    }
    let distance = out["distance_km"].as_f64().unwrap();
    assert!(close(distance, legs.iter().sum(), 1e-9), "{distance} vs legs {legs:?}");
}

const CITIES: [&str; 4] = ["Chicago", "Atlanta", "Los Angeles", "New York City"];

/// The seed request's points, read from the file.
fn seed_coords() -> Vec<[f64; 2]> {
    let req = json(&std::fs::read_to_string(SEED_REQUEST).unwrap());
    let names: Vec<&str> = req["locations"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(names, CITIES);
    req["coordinates"].as_array().unwrap().iter().map(point).collect()
}

#[test]
fn seed_request_is_the_optimal_round_trip() {
    let c = seed_coords();
    let out = json(&ok(&["solve", "examples/seed-request.json"], None));
    check_prediction(&out, Some(&CITIES), &c, true);
    let route: Vec<&str> = out["route"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(route.len(), 5);
    assert_eq!((route[0], route[4]), ("Chicago", "Chicago"));
    let mut middle = route[1..4].to_vec();
    middle.sort_unstable();
    assert_eq!(middle, ["Atlanta", "Los Angeles", "New York City"]);
    assert_eq!(out["optimal"], Value::Bool(true));
    // The best of the 3! orders of the other cities.
    let tour = |o: [usize; 3]| {
        haversine(c[0], c[o[0]]) + haversine(c[o[0]], c[o[1]]) + haversine(c[o[1]], c[o[2]]) + haversine(c[o[2]], c[0])
    };
    let perms = [[1, 2, 3], [1, 3, 2], [2, 1, 3], [2, 3, 1], [3, 1, 2], [3, 2, 1]];
    let best = perms.iter().map(|&o| tour(o)).fold(f64::INFINITY, f64::min);
    let distance = out["distance_km"].as_f64().unwrap();
    assert!(close(distance, best, 1e-9), "{distance} vs best {best}");
    assert!(out.get("id").is_none(), "no id was given: {out}");
    // A fresh UUID every run.
    let again = json(&ok(&["solve", SEED_REQUEST], None));
    assert_ne!(out["UUID"], again["UUID"]);
    assert_eq!(out["order"], again["order"]);
}

#[test]
fn backend_flag_is_applied_and_checked() {
    let out = json(&ok(&["solve", "--backend", "scalar", SEED_REQUEST], None));
    assert_eq!(out["solver"]["backend"], "cpu-scalar");
    let out = json(&ok(&["solve", "--backend", "cpu", SEED_REQUEST], None));
    assert!(out["solver"]["backend"].as_str().unwrap().starts_with("cpu-simd"), "{out}");
    let o = run(&["solve", "--backend", "quantum", SEED_REQUEST], None);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("quantum"), "{}", stderr(&o));
    // ROUTE_OPTIM_BACKEND chooses when no --backend is given.
    let with_env = |value: &str, args: &[&str]| {
        Command::new(BIN).args(args).current_dir(ROOT).env("ROUTE_OPTIM_BACKEND", value).output().unwrap()
    };
    let o = with_env("scalar", &["solve", SEED_REQUEST]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(json(&stdout(&o))["solver"]["backend"], "cpu-scalar");
    let o = with_env("scalar", &["solve", "--backend", "cpu", SEED_REQUEST]);
    assert!(json(&stdout(&o))["solver"]["backend"].as_str().unwrap().starts_with("cpu-simd"), "the flag wins");
    let o = with_env("quantum", &["solve", SEED_REQUEST]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("ROUTE_OPTIM_BACKEND") && stderr(&o).contains("quantum"), "{}", stderr(&o));
}

#[test]
fn array_with_a_bad_record_answers_every_record() {
    let c = seed_coords();
    let body = format!(
        r#"[
  {{"id": "first", "locations": ["Chicago", "Atlanta", "Los Angeles", "New York City"], "coordinates": {coords}}},
  {{"id": "second", "coordinates": [[41.8, -87.6], [91, 0], [40.7, -73.9]]}},
  {{"id": 3, "coordinates": [[0, 0], [0, 1], [1, 1], [1, 0]], "options": {{"round_trip": false, "start": 2}}}}
]"#,
        coords = serde_json::to_string(&c).unwrap()
    );
    let file = TempFile::new("batch.json", body.as_bytes());
    let o = run(&["solve", file.path()], None);
    assert!(o.status.success(), "exit {}: {}", o.status, stderr(&o));
    let out = json(&stdout(&o));
    let items = out.as_array().expect("an array of outputs");
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["id"], "first");
    check_prediction(&items[0], Some(&CITIES), &c, true);
    assert_eq!(items[1]["id"], "second");
    assert_eq!(items[1]["error"]["code"], "invalid_request");
    let message = items[1]["error"]["message"].as_str().unwrap();
    assert!(message.contains("coordinates[1][0]"), "{message}");
    assert!(items[1].get("route").is_none());
    assert!(is_uuid(items[1]["UUID"].as_str().unwrap()));
    assert_eq!(items[2]["id"], 3);
    let square = [[0.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, 0.0]];
    check_prediction(&items[2], None, &square, false);
    assert_eq!(items[2]["order"][0], 2, "start 2 is first");
    let uuids: std::collections::HashSet<&str> = items.iter().map(|i| i["UUID"].as_str().unwrap()).collect();
    assert_eq!(uuids.len(), 3, "UUIDs are unique");
}

/// A byte that is not UTF-8 in one request's name is that request's error;
/// the array is still split and the others solved.
#[test]
fn an_array_item_that_is_not_utf8_fails_alone() {
    let mut body = br#"[{"id": "a", "coordinates": [[0, 0], [1, 1]]},
 {"id": "b", "locations": [""#
        .to_vec();
    body.push(0xff);
    body.extend_from_slice(
        br#""], "coordinates": [[0, 0]]},
 {"id": "c", "coordinates": [[2, 2]]}]"#,
    );
    let file = TempFile::new("latin.json", &body);
    let out = json(&ok(&["solve", file.path()], None));
    let items = out.as_array().expect("an array of outputs");
    assert_eq!(items.iter().map(|i| i["id"].as_str().unwrap()).collect::<Vec<_>>(), ["a", "b", "c"]);
    check_prediction(&items[0], None, &[[0.0, 0.0], [1.0, 1.0]], true);
    check_prediction(&items[2], None, &[[2.0, 2.0]], true);
    assert_eq!(items[1]["error"]["code"], "invalid_request");
    let message = items[1]["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("locations[0]: ") && message.contains("line 2 column 29 (byte offset 75)"),
        "{message}"
    );
}

/// `NaN` and `Infinity` as Python's `json.dumps` writes them: not JSON, so
/// the array once failed whole; now only their request does, naming the
/// field and where it is. An item that is such a number is not a request.
#[test]
fn an_array_item_with_nan_fails_alone() {
    let body = br#"[{"id": "a", "coordinates": [[0, 0], [1, 1]]},
 {"id": "b", "coordinates": [[0, 0], [NaN, 1]]},
 {"id": "c", "locations": ["NaN", "Infinity"], "coordinates": [[2, 2], [3, 3]]},
 {"id": "d", "coordinates": [[2, 2]], "options": {"time_limit_ms": -Infinity}}, -Infinity]"#;
    let file = TempFile::new("nan.json", body);
    let out = json(&ok(&["solve", file.path()], None));
    let items = out.as_array().expect("an array of outputs");
    assert_eq!(items.len(), 5);
    assert_eq!(items[..4].iter().map(|i| i["id"].as_str().unwrap()).collect::<Vec<_>>(), ["a", "b", "c", "d"]);
    assert_eq!(items[4]["error"]["code"], "invalid_json");
    let whole = items[4]["error"]["message"].as_str().unwrap();
    assert!(whole.ends_with("at line 4 column 82 (byte offset 258)"), "{whole}");
    check_prediction(&items[0], None, &[[0.0, 0.0], [1.0, 1.0]], true);
    check_prediction(&items[2], Some(&["NaN", "Infinity"]), &[[2.0, 2.0], [3.0, 3.0]], true);
    for (item, message) in [
        (&items[1], "coordinates[1][0]: NaN is not a number JSON allows at line 2 column 39 (byte offset 85)"),
        (
            &items[3],
            "options.time_limit_ms: -Infinity is not a number JSON allows at line 4 column 68 (byte offset 244)",
        ),
    ] {
        assert_eq!(item["error"]["code"], "invalid_request");
        assert!(item["error"]["message"].as_str().unwrap().starts_with(message), "{item}");
    }
}

/// Lines of NDJSON with blank and whitespace-only lines, a CRLF ending, a
/// broken line, an invalid request, and no newline at the end.
const NDJSON: &str = concat!(
    "{\"id\": \"a\", \"coordinates\": [[41.8781, -87.6298], [40.73061, -73.935242], [33.753746, -84.38633]]}\n",
    "\n",
    "   \t \n",
    "{\"id\": \"b\", \"coordinates\": [[10, 20]]}\r\n",
    "{\"id\": \"c\", \"coordinates\": [[1, 2], [3, 4]\n",
    "\n",
    "{\"id\": \"d\", \"coordinates\": [[95, 0], [0, 0]]}\n",
    "{\"id\": \"e\", \"coordinates\": [[0, 0], [0, 1], [1, 1]], \"options\": {\"round_trip\": false}}",
);

fn check_ndjson_output(text: &str) {
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "one output per non-blank line:\n{text}");
    let outs: Vec<Value> = lines.iter().map(|l| json(l)).collect();
    assert_eq!(outs[0]["id"], "a");
    check_prediction(&outs[0], None, &[[41.8781, -87.6298], [40.73061, -73.935242], [33.753746, -84.38633]], true);
    assert_eq!(outs[1]["id"], "b");
    check_prediction(&outs[1], None, &[[10.0, 20.0]], true);
    // Broken JSON: no id can be read from it.
    assert_eq!(outs[2]["error"]["code"], "invalid_json", "{}", outs[2]);
    assert!(outs[2].get("id").is_none());
    assert_eq!(outs[3]["id"], "d");
    assert_eq!(outs[3]["error"]["code"], "invalid_request");
    assert!(outs[3]["error"]["message"].as_str().unwrap().contains("coordinates[0][0]"));
    assert_eq!(outs[4]["id"], "e");
    check_prediction(&outs[4], None, &[[0.0, 0.0], [0.0, 1.0], [1.0, 1.0]], false);
}

#[test]
fn ndjson_file_one_output_per_line_in_order() {
    for ext in ["ndjson", "jsonl"] {
        let file = TempFile::new(&format!("stream.{ext}"), NDJSON.as_bytes());
        check_ndjson_output(&ok(&["solve", file.path()], None));
    }
}

#[test]
fn ndjson_from_stdin() {
    check_ndjson_output(&ok(&["solve", "--ndjson", "-"], Some(NDJSON.as_bytes())));
    // --ndjson also overrides a .json file name.
    let file = TempFile::new("stream.json", NDJSON.as_bytes());
    check_ndjson_output(&ok(&["solve", "--ndjson", file.path()], None));
    // A file redirected to standard input (`< stream.json`) is read as a file.
    let redirected = Command::new(BIN)
        .args(["solve", "--ndjson", "-"])
        .stdin(std::fs::File::open(file.path()).unwrap())
        .output()
        .unwrap();
    assert!(redirected.status.success(), "{}", stderr(&redirected));
    check_ndjson_output(&stdout(&redirected));
}

#[test]
fn ndjson_keeps_order_across_chunks() {
    // More lines than one solving chunk (as many as a GPU batch), with blank
    // lines and errors spread through them.
    let total = GPU_MIN_BATCH + 600;
    let mut input = String::new();
    for i in 0..total {
        if i % 7 == 0 {
            input.push('\n');
        }
        let lat = if i % 97 == 0 { 100.0 } else { (i % 80) as f64 };
        input.push_str(&format!("{{\"id\": {i}, \"coordinates\": [[{lat}, 0], [0, {}], [1, 1]]}}\n", (i % 170) as f64));
    }
    let text = ok(&["solve", "--ndjson", "-"], Some(input.as_bytes()));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), total);
    for (i, line) in lines.iter().enumerate() {
        let out = json(line);
        assert_eq!(out["id"], i, "line {i}");
        if i % 97 == 0 {
            assert_eq!(out["error"]["code"], "invalid_request", "line {i}");
        } else {
            assert_eq!(out["order"].as_array().unwrap().len(), 4, "line {i}");
        }
    }
}

/// Fiji, Samoa and Tonga: a round trip across ±180° is cut there (RFC 7946
/// §3.1.9), or maps draw its legs across the world.
#[test]
fn geojson_cuts_a_route_at_the_antimeridian() {
    let request = br#"{"coordinates": [[-18.1, 178.4], [-13.8, -171.8], [-17.7, -179.0], [-14.3, -170.7]]}"#;
    let geo = json(&ok(&["solve", "--format", "geojson", "-"], Some(request)));
    let route = &geo["features"][0]["geometry"];
    assert_eq!(route["type"], "MultiLineString", "{route}");
    let pieces: Vec<Vec<[f64; 2]>> = route["coordinates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_array().unwrap().iter().map(point).collect())
        .collect();
    assert!(pieces.len() >= 2, "{route}");
    for piece in &pieces {
        assert!(piece.len() >= 2, "{route}");
        assert!(piece.windows(2).all(|w| (w[1][0] - w[0][0]).abs() <= 180.0), "{route}");
    }
    let stops = pieces.iter().flatten().filter(|p| p[0].abs() < 180.0).count();
    assert_eq!(stops, 5, "four stops and the return: {route}");
    assert_eq!(geo["features"].as_array().unwrap().len(), 5, "the route and a Point a stop");
}

#[test]
fn geojson_is_a_feature_collection_of_lon_lat() {
    let plain = json(&ok(&["solve", SEED_REQUEST], None));
    let geo = json(&ok(&["solve", "--format", "geojson", SEED_REQUEST], None));
    assert_eq!(geo["type"], "FeatureCollection");
    let features = geo["features"].as_array().unwrap();
    let line = &features[0];
    assert_eq!(line["type"], "Feature");
    assert_eq!(line["geometry"]["type"], "LineString");
    let c = seed_coords();
    let order: Vec<usize> = plain["order"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
    let coords: Vec<[f64; 2]> = line["geometry"]["coordinates"].as_array().unwrap().iter().map(point).collect();
    let want: Vec<[f64; 2]> = order.iter().map(|&i| [c[i][1], c[i][0]]).collect();
    assert_eq!(coords, want, "[lon, lat] along the route");
    assert!(close(line["properties"]["distance_km"].as_f64().unwrap(), plain["distance_km"].as_f64().unwrap(), 1e-12));
    // No id in the request: no `id` key, as in the JSON output.
    assert!(plain.get("id").is_none() && line["properties"].get("id").is_none(), "{}", line["properties"]);
    // One Point per stop, the closing return not repeated.
    let points = &features[1..];
    assert_eq!(points.len(), 4);
    for (k, f) in points.iter().enumerate() {
        assert_eq!(f["geometry"]["type"], "Point");
        assert_eq!(point(&f["geometry"]["coordinates"]), want[k]);
        assert_eq!(f["properties"]["name"], CITIES[order[k]]);
        assert_eq!(f["properties"]["stop"], k);
    }
    // One stop, as a round trip or a path: the route feature, with its UUID
    // and id, is still there (the path's once had none), its line the stop twice.
    for round_trip in [true, false] {
        let one = serde_json::json!({"id": "a1", "coordinates": [[10, 20]], "options": {"round_trip": round_trip}});
        let geo = json(&ok(&["solve", "--format", "geojson", "-"], Some(one.to_string().as_bytes())));
        let features = geo["features"].as_array().unwrap();
        assert_eq!(features.len(), 2, "round trip {round_trip}: {geo}");
        let route = &features[0];
        assert_eq!(route["geometry"]["coordinates"], serde_json::json!([[20.0, 10.0], [20.0, 10.0]]));
        assert_eq!(
            (&route["properties"]["id"], route["properties"]["distance_km"].as_f64()),
            (&Value::from("a1"), Some(0.0))
        );
        assert_eq!(route["properties"]["UUID"].as_str().map(str::len), Some(36), "{route}");
        assert_eq!(features[1]["geometry"]["type"], "Point");
    }
}

/// An EUC_2D instance's optimum, from ../shared/tsplib/solutions.
fn known_optimum(name: &str) -> i64 {
    use route_optim::metric::{Metric, Tsplib};
    let text = std::fs::read_to_string(format!("{TSPLIB_DIR}solutions")).unwrap();
    let solutions = route_optim::tsplib::Solutions::parse(&text).unwrap();
    solutions.optimum(name, Metric::Tsplib(Tsplib::Euc2d)).unwrap() as i64
}

#[test]
fn tsplib_file_is_solved_to_its_optimum() {
    let path = format!("{TSPLIB_DIR}berlin52.tsp");
    let text = ok(&["solve", "../shared/tsplib/berlin52.tsp", "--iterations", "20000", "--seed", "1"], None);
    assert_eq!(text.lines().count(), 1, "one line of JSON");
    let out = json(&text);
    assert_eq!(out["name"], "berlin52");
    assert_eq!(out["metric"], "EUC_2D");
    assert_eq!(out["n"], 52);
    let opt = known_optimum("berlin52");
    assert_eq!(opt, 7542);
    assert_eq!(out["length"], opt);
    assert_eq!(out["solver"]["kicks"], 20000);
    let order: Vec<usize> = out["order"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
    let mut seen = order.clone();
    seen.sort_unstable();
    assert_eq!(seen, (0..52).collect::<Vec<_>>());
    // The printed length is the order's length under the file's own metric.
    let inst = route_optim::tsplib::parse(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let len: f64 = (0..52).map(|k| inst.metric.dist(inst.points[order[k]], inst.points[order[(k + 1) % 52]])).sum();
    assert_eq!(len, opt as f64);
    // GeoJSON makes no sense for TSPLIB coordinates.
    let o = run(&["solve", "--format", "geojson", &path], None);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("geojson"), "{}", stderr(&o));
}

#[test]
fn tsplib_is_read_from_standard_input_too() {
    let path = format!("{TSPLIB_DIR}berlin52.tsp");
    let args = ["--iterations", "2000", "--seed", "3"];
    let from_file = json(&ok(&[&["solve", path.as_str()][..], &args].concat(), None));
    let text = std::fs::read(&path).unwrap();
    let from_stdin = json(&ok(&[&["solve", "-"][..], &args].concat(), Some(&text)));
    assert_eq!(from_stdin["name"], "berlin52");
    assert_eq!(from_stdin["metric"], "EUC_2D");
    // Same search, same tour: only the time differs.
    for key in ["n", "order", "length", "optimal"] {
        assert_eq!(from_stdin[key], from_file[key], "{key}");
    }
    assert_eq!(from_stdin["solver"]["kicks"], 2000);
    // A byte-order mark, as Windows editors write, changes nothing.
    let marked = TempFile::new("marked.tsp", &[&b"\xEF\xBB\xBF"[..], &text].concat());
    let from_marked = json(&ok(&[&["solve", marked.path()][..], &args].concat(), None));
    for key in ["name", "n", "order", "length"] {
        assert_eq!(from_marked[key], from_file[key], "{key}");
    }
    // Keywords without their colons (`NAME berlin52`), as the reader takes
    // them, are TSPLIB from standard input too (they were read as JSON).
    let bare = String::from_utf8(text.clone()).unwrap().replacen(": ", " ", 5);
    assert!(bare.starts_with("NAME berlin52"), "{}", &bare[..40]);
    let from_bare = json(&ok(&[&["solve", "-"][..], &args].concat(), Some(bare.as_bytes())));
    for key in ["name", "n", "order", "length"] {
        assert_eq!(from_bare[key], from_file[key], "{key}");
    }
    // A TSPLIB file is not NDJSON: asking for that is an error, not ignored.
    let o = run(&["solve", "--ndjson", &path], None);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--ndjson") && stderr(&o).contains("TSPLIB"), "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
    // Text that is neither JSON nor TSPLIB says so.
    let o = run(&["solve", "-"], Some(b"NAME : broken\nDIMENSION : x\n"));
    assert!(!o.status.success());
    assert!(stderr(&o).contains("standard input is not a TSPLIB file"), "{}", stderr(&o));
    // Other text with a capital first is bad JSON, answered as such.
    for text in ["NaN", "True\n", "Error: 502 Bad Gateway"] {
        let v = json(&ok(&["solve", "-"], Some(text.as_bytes())));
        assert_eq!(v["error"]["code"], "invalid_json", "{text}: {v}");
    }
}

#[test]
fn unreadable_input_fails() {
    let missing = std::env::temp_dir().join(format!("route-optim-cli-{}-does-not-exist.json", std::process::id()));
    let missing = missing.to_str().unwrap();
    let o = run(&["solve", missing], None);
    assert!(!o.status.success());
    assert!(o.stdout.is_empty());
    assert!(stderr(&o).contains(missing), "{}", stderr(&o));

    let broken = TempFile::new("broken.json", br#"[{"coordinates": [[1, 2]]}, {"coordinates": "#);
    let o = run(&["solve", broken.path()], None);
    assert!(!o.status.success(), "a broken array is not a batch");
    let err = stderr(&o);
    assert!(err.contains(broken.path()) && err.contains("not a JSON array"), "{err}");

    // A broken single document is one record: answered with an error record.
    let out = json(&ok(&["solve", "-"], Some(br#"{"coordinates": [[1, 2]"#)));
    assert_eq!(out["error"]["code"], "invalid_json");

    let bad_tsp = TempFile::new("bad.tsp", b"NAME: x\nDIMENSION: 2\nEDGE_WEIGHT_TYPE: EXPLICIT\n");
    let o = run(&["solve", bad_tsp.path()], None);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("EXPLICIT"), "{}", stderr(&o));
}

#[test]
fn time_limit_is_parsed() {
    let out = json(&ok(&["solve", "--time-limit", "0.05", SEED_REQUEST], None));
    check_prediction(&out, Some(&CITIES), &seed_coords(), true);
    for bad in ["abc", "-1", "inf", "NaN", ""] {
        let arg = format!("--time-limit={bad}");
        let o = run(&["solve", &arg, SEED_REQUEST], None);
        assert!(!o.status.success(), "{arg} accepted");
        assert!(o.stdout.is_empty(), "{arg}: output despite the error");
    }
    let o = run(&["solve", "--time-limit", "abc", SEED_REQUEST], None);
    assert!(stderr(&o).contains("abc"), "{}", stderr(&o));
    // A negative number is a value, answered with the reason, not taken for a flag.
    for args in [&["solve", "--time-limit", "-0.5", SEED_REQUEST][..], &["bench", "tsplib", ".", "--time-limit", "-1"]]
    {
        let o = run(args, None);
        assert!(
            !o.status.success() && stderr(&o).contains("is not a non-negative number of seconds"),
            "{}",
            stderr(&o)
        );
    }
    // More seconds than a Duration holds is no limit, not an error.
    let out = json(&ok(&["solve", "--time-limit", "1e20", SEED_REQUEST], None));
    check_prediction(&out, Some(&CITIES), &seed_coords(), true);
}

/// A batch of no requests, or of requests with no stops, has no rate or
/// gap to report (it printed "mean NaN%"); one-stop tours (length 0) are at
/// their reference, with a gap of 0.
#[test]
fn bench_batch_needs_stops_and_requests() {
    for (flag, args) in [("--stops", ["--stops", "0", "--count", "4"]), ("--count", ["--stops", "5", "--count", "0"])] {
        let o = run(&[&["bench", "batch", "--reference", "1"][..], &args].concat(), None);
        assert!(!o.status.success() && o.stdout.is_empty(), "{args:?}: {}", String::from_utf8_lossy(&o.stdout));
        assert!(stderr(&o).contains(&format!("{flag} must be at least 1")), "{}", stderr(&o));
    }
    let text = ok(&["bench", "batch", "--stops", "1", "--count", "4", "--reference", "2"], None);
    assert!(text.contains("mean 0.0000%, max 0.000%, at the best known 100.0%"), "{text}");
}

#[test]
fn time_limit_bounds_a_larger_solve() {
    // 1500 points, no kick budget: the search stops at the limit. Generous
    // bound: only a search that ignores the limit runs for seconds.
    let mut rng = fastrand::Rng::with_seed(3);
    let coords: Vec<[f64; 2]> = (0..1500).map(|_| [30.0 + rng.f64() * 15.0, -120.0 + rng.f64() * 40.0]).collect();
    let body = serde_json::json!({ "coordinates": coords }).to_string();
    let t0 = std::time::Instant::now();
    let out = json(&ok(&["solve", "--time-limit", "0.05", "-"], Some(body.as_bytes())));
    let wall = t0.elapsed().as_secs_f64();
    check_prediction(&out, None, &coords, true);
    assert_eq!(out["optimal"], false);
    assert!(out["solver"]["ms"].as_f64().unwrap() < 3000.0, "solver ran {} ms", out["solver"]["ms"]);
    assert!(wall < 10.0, "{wall} s");
}

#[test]
fn request_options_reach_the_solver() {
    // An open path from a given start to a given end, euclidean.
    let body = r#"{"id": "p", "coordinates": [[0, 0], [3, 0], [1, 0], [2, 0], [5, 0], [4, 0]],
                   "options": {"round_trip": false, "start": 2, "end": 4, "metric": "euclidean"}}"#;
    let out = json(&ok(&["solve", "-"], Some(body.as_bytes())));
    let order: Vec<u64> = out["order"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    // From x = 1 to x = 5 through everything: down to 0 first, then up: 1 + 5.
    assert_eq!(order, [2, 0, 3, 1, 5, 4]);
    assert_eq!(out["distance_km"], 6.0);
    assert_eq!(out["optimal"], true);
}

/// The numbers of the first `"coordinates":[[a,b]` in a compact output line,
/// read with std's correctly rounded parser.
fn first_coordinate(line: &str) -> [f64; 2] {
    let at = line.find("\"coordinates\":[[").expect("a coordinates field") + "\"coordinates\":[[".len();
    let rest = &line[at..];
    let pair = &rest[..rest.find(']').unwrap()];
    let (a, b) = pair.split_once(',').unwrap();
    [a.parse().unwrap(), b.parse().unwrap()]
}

#[test]
fn coordinates_are_echoed_exactly() {
    let mut rng = fastrand::Rng::with_seed(4);
    let points: Vec<[f64; 2]> = (0..500).map(|_| [rng.f64() * 180.0 - 90.0, rng.f64() * 360.0 - 180.0]).collect();
    // Rust's Display for f64 is the shortest text that parses back to the same value.
    let input: String = points.iter().map(|p| format!("{{\"coordinates\": [[{}, {}]]}}\n", p[0], p[1])).collect();
    let text = ok(&["solve", "--ndjson", "-"], Some(input.as_bytes()));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), points.len());
    let changed: Vec<String> = points
        .iter()
        .zip(&lines)
        .filter_map(|(p, l)| {
            let got = first_coordinate(l);
            (got != *p).then(|| format!("{:?} came back as {:?}", p, got))
        })
        .collect();
    assert!(changed.is_empty(), "{} of {} points changed, e.g. {}", changed.len(), points.len(), changed[0]);
}

#[test]
fn ctrl_c_ends_the_search_and_writes_the_best_tour() {
    // A 3000-point request with a 60 s limit, interrupted after a second:
    // the process must answer with a valid tour long before the limit.
    let mut rng = fastrand::Rng::with_seed(9);
    let coords: Vec<[f64; 2]> = (0..3000).map(|_| [30.0 + rng.f64() * 15.0, -120.0 + rng.f64() * 40.0]).collect();
    let body = serde_json::json!({ "coordinates": coords }).to_string();
    let mut child = Command::new(BIN)
        .args(["solve", "--time-limit", "60", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(body.as_bytes()).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    let t0 = std::time::Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(t0.elapsed().as_secs_f64() < 20.0, "the search did not stop on Ctrl-C");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("interrupted"), "{}", stderr(&out));
    let v = json(&stdout(&out));
    check_prediction(&v, None, &coords, true);
    assert!(v["solver"]["ms"].as_f64().unwrap() < 20_000.0);
}

/// Starts `solve - --ndjson` with the extra arguments, stdin and stdout piped.
fn ndjson_child(extra: &[&str]) -> std::process::Child {
    Command::new(BIN)
        .args(["solve", "--ndjson", "-"])
        .args(extra)
        .env_remove("ROUTE_OPTIM_BACKEND")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn ndjson_from_a_slow_producer_is_answered_line_by_line() {
    // Each line is answered while the input stays open, not once a chunk of
    // 4096 lines has come or the input has ended.
    let mut child = ndjson_child(&[]);
    let mut stdin = child.stdin.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let coords = seed_coords();
    for id in ["first", "second"] {
        writeln!(stdin, "{}", serde_json::json!({ "id": id, "coordinates": coords })).unwrap();
        stdin.flush().unwrap();
        let line = rx.recv_timeout(std::time::Duration::from_secs(30)).expect("no answer while the input is open");
        let v = json(&line);
        assert_eq!(v["id"], id);
        check_prediction(&v, None, &coords, true);
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(rx.recv_timeout(std::time::Duration::from_secs(5)).is_err(), "an output without a request");
}

/// Sends Ctrl-C to `child` after `after`, and returns its output; kills it
/// (failing the test) if it has not ended 20 s later.
fn interrupt(child: std::process::Child, after: std::time::Duration) -> Output {
    std::thread::sleep(after);
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        if rx.recv_timeout(std::time::Duration::from_secs(20)).is_err() {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
        }
    });
    let out = child.wait_with_output().unwrap();
    let _ = tx.send(());
    assert!(out.status.success(), "not ended by Ctrl-C within 20 s ({}): {}", out.status, stderr(&out));
    out
}

#[test]
fn ctrl_c_on_ndjson_answers_every_line_read() {
    let mut rng = fastrand::Rng::with_seed(10);
    let mut big = |id: &str| {
        let coords: Vec<[f64; 2]> = (0..400).map(|_| [30.0 + rng.f64() * 15.0, -120.0 + rng.f64() * 40.0]).collect();
        (serde_json::json!({ "id": id, "coordinates": coords }).to_string(), coords)
    };
    // From a file: the first chunk (4096 lines) holds one 400-point request
    // that searches for 60 s; the second chunk, one more, is read while it
    // does. Interrupted then, both chunks are answered.
    let (slow, slow_coords) = big("slow");
    let (next, next_coords) = big("next");
    let tiny = serde_json::json!({ "coordinates": [[1.0, 2.0], [2.0, 3.0], [3.0, 1.0]] }).to_string();
    let mut text = String::new();
    for i in 0..GPU_MIN_BATCH {
        text.push_str(if i == 1000 { &slow } else { &tiny });
        text.push('\n');
    }
    text.push_str(&next);
    text.push('\n');
    let file = TempFile::new("interrupted.ndjson", text.as_bytes());
    let child = Command::new(BIN)
        .args(["solve", "--time-limit", "60", file.path()])
        .env_remove("ROUTE_OPTIM_BACKEND")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = interrupt(child, std::time::Duration::from_millis(1500));
    let outs: Vec<Value> = stdout(&out).lines().map(json).collect();
    assert_eq!(outs.len(), GPU_MIN_BATCH + 1, "one output per line read");
    check_prediction(&outs[1000], None, &slow_coords, true);
    check_prediction(&outs[GPU_MIN_BATCH], None, &next_coords, true);
    assert_eq!(outs[GPU_MIN_BATCH]["id"], "next");

    // From a producer that stays open: the line read is answered, and the
    // process ends without waiting for more input.
    let (line, coords) = big("open");
    let mut child = ndjson_child(&["--time-limit", "60"]);
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{line}").unwrap();
    stdin.flush().unwrap();
    let out = interrupt(child, std::time::Duration::from_millis(1500));
    drop(stdin);
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "{text}");
    let v = json(text.trim());
    assert_eq!(v["id"], "open");
    check_prediction(&v, None, &coords, true);
}

/// A generated 200,000-point request goes through the matrix-free path to a
/// valid round trip (a permutation closed back to its start, its length the
/// sum of its legs) within the Beardwood–Halton–Hammersley estimate + 25%.
#[test]
fn generated_200k_point_request_gives_a_valid_tour() {
    let (n, side) = (200_000usize, 1e6);
    let req = ok(&["gen", "--n", &n.to_string(), "--plane", "1e6", "--seed", "3"], None);
    let file = TempFile::new("200k.json", req.as_bytes());
    let v = json(&ok(&["solve", "--iterations", "1000", file.path()], None));
    let order: Vec<usize> = v["order"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect();
    assert_eq!(order.len(), n + 1);
    assert_eq!((order[0], order[n]), (0, 0), "a round trip from the first stop");
    let mut seen = vec![false; n];
    for &i in &order[..n] {
        assert!(i < n && !seen[i], "{i} out of range or repeated");
        seen[i] = true;
    }
    let coords: Vec<[f64; 2]> = json(&req)["coordinates"].as_array().unwrap().iter().map(point).collect();
    let legs: f64 = order
        .windows(2)
        .map(|w| {
            let (a, b) = (coords[w[0]], coords[w[1]]);
            ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
        })
        .sum();
    let length = v["distance_km"].as_f64().unwrap();
    assert!(close(legs, length, 1e-9), "{legs} vs {length}");
    let bhh = 0.7124 * (n as f64 * side * side).sqrt();
    assert!(length < 1.25 * bhh, "{length} vs 1.25 × BHH {bhh}");
}

/// A large file with one bad byte is answered with an error record that
/// gives the byte offset of the problem.
#[test]
fn malformed_large_file_names_the_byte_offset() {
    let req = ok(&["gen", "--n", "100000", "--seed", "5"], None);
    let mut bytes = req.into_bytes();
    // Break a number in the middle: "12.5" becomes "12.5x".
    let at = bytes.len() / 2 + bytes[bytes.len() / 2..].iter().position(|&b| b == b',').unwrap();
    bytes[at] = b'x';
    let file = TempFile::new("bad.json", &bytes);
    let v = json(&ok(&["solve", file.path()], None));
    let message = v["error"]["message"].as_str().unwrap();
    assert_eq!(v["error"]["code"], "invalid_json", "{message}");
    assert!(message.contains(&format!("byte offset {at}")), "bad byte at {at}: {message}");
}

/// A bad request in an array or an NDJSON file is placed by its line,
/// column and byte offset in the file, not in the request.
#[test]
fn errors_in_a_batch_say_where_in_the_file() {
    let good = r#"{"coordinates": [[1, 2]]}"#;
    // The bad value `"x"` ends on line 4, column 10 of the array.
    let array = format!("[\n {good},\n {{\"coordinates\": [[1,2],\n   [3, \"x\"]]}},\n {good}\n]\n");
    let end = array.find(r#""x""#).unwrap() + 2;
    assert_eq!(array[..end].matches('\n').count(), 3);
    assert_eq!(end - array[..end].rfind('\n').unwrap(), 10);
    let file = TempFile::new("batch.json", array.as_bytes());
    let v = json(&ok(&["solve", file.path()], None));
    let out = v.as_array().unwrap();
    assert_eq!(out.len(), 3);
    let m = out[1]["error"]["message"].as_str().unwrap();
    assert!(m.ends_with(&format!("expected f64 at line 4 column 10 (byte offset {end})")), "{m}");
    assert!(out[0]["order"].is_array() && out[2]["order"].is_array());
    // NDJSON with a byte-order mark, CRLF line ends and a blank line: the
    // cut-off request is line 4, and its end is where the file ends.
    let ndjson = format!("\u{feff}{good}\r\n\r\n{good}\r\n{{\"coordinates\": [[1, 2]");
    let tail = ndjson.len() - "\u{feff}".len();
    let text = ok(&["solve", "--ndjson", "-"], Some(ndjson.as_bytes()));
    let lines: Vec<Value> = text.lines().map(json).collect();
    assert_eq!(lines.len(), 3);
    assert!(lines[0]["order"].is_array() && lines[1]["order"].is_array(), "{text}");
    let m = lines[2]["error"]["message"].as_str().unwrap();
    assert!(m.ends_with(&format!("EOF while parsing a list at line 4 column 23 (byte offset {})", tail - 1)), "{m}");
}

/// `gen --clustered --bbox` keeps every point in the box; a bad box is refused.
#[test]
fn gen_clustered_points_stay_in_the_box() {
    let req = json(&ok(&["gen", "--n", "500", "--clustered", "--bbox", "41.6,-88,42.1,-87.5", "--seed", "4"], None));
    let coords = req["coordinates"].as_array().expect("coordinates");
    assert_eq!(coords.len(), 500);
    for c in coords {
        let [lat, lon] = point(c);
        assert!((41.6..=42.1).contains(&lat) && (-88.0..=-87.5).contains(&lon), "{lat}, {lon}");
    }
    // Clustered: the nearest-neighbour distances are far below uniform's.
    let pts: Vec<[f64; 2]> = coords.iter().map(point).collect();
    let uniform = json(&ok(&["gen", "--n", "500", "--bbox", "41.6,-88,42.1,-87.5", "--seed", "4"], None));
    let upts: Vec<[f64; 2]> = uniform["coordinates"].as_array().expect("coordinates").iter().map(point).collect();
    let mean_nn = |p: &[[f64; 2]]| {
        p.iter()
            .map(|a| p.iter().filter(|b| *b != a).map(|b| haversine(*a, *b)).fold(f64::INFINITY, f64::min))
            .sum::<f64>()
            / p.len() as f64
    };
    assert!(mean_nn(&pts) < 0.5 * mean_nn(&upts), "{} vs {}", mean_nn(&pts), mean_nn(&upts));
    for bad in ["10,20,5,30", "1,2,3", "91,0,92,1"] {
        let o = run(&["gen", "--n", "5", "--bbox", bad], None);
        assert!(!o.status.success() && stderr(&o).contains("--bbox"), "{bad}: {}", stderr(&o));
    }
}

/// `gen --plane` keeps the points of a small square apart, and refuses a
/// side it cannot round to.
#[test]
fn gen_plane_points_keep_apart_in_a_small_square() {
    let req = json(&ok(&["gen", "--n", "50", "--plane", "1e-9", "--seed", "2"], None));
    let mut pts: Vec<[f64; 2]> = req["coordinates"].as_array().expect("coordinates").iter().map(point).collect();
    assert!(pts.iter().all(|p| p.iter().all(|v| (0.0..=1e-9).contains(v))), "{pts:?}");
    pts.sort_by(|a, b| a.partial_cmp(b).unwrap());
    pts.dedup();
    assert_eq!(pts.len(), 50, "points rounded together");
    for side in ["-5", "0", "1e-200", "1e10"] {
        let o = run(&["gen", "--n", "5", "--plane", side], None);
        assert!(!o.status.success() && stderr(&o).contains("--plane: the side must be in"), "{side}: {}", stderr(&o));
    }
}

/// `gen` writes each coordinate as the decimal it was rounded to: six
/// decimals, or on a plane side under 1 enough for a millionth of the side,
/// never the long tail of a binary fraction (0.24310479999999998).
#[test]
fn gen_writes_coordinates_as_short_decimals() {
    // Decimals of a JSON number's text: digits after the point, less the exponent.
    let decimals = |t: &str| -> i32 {
        let (m, e) = t.split_once(['e', 'E']).map_or((t, 0), |(m, e)| (m, e.parse().expect("exponent")));
        m.split_once('.').map_or(0, |(_, f)| f.len() as i32) - e
    };
    for (args, most) in [
        (&["--bbox", "41.6,-88,42.1,-87.5"][..], 6),
        (&["--plane", "1000"], 6),
        (&["--plane", "0.37"], 7),
        (&["--plane", "0.000123"], 10),
        (&["--plane", "1e-30"], 36),
    ] {
        let text = ok(&[&["gen", "--n", "300", "--seed", "6"][..], args].concat(), None);
        let coords = text.split("\"coordinates\":").nth(1).and_then(|t| t.split("]]").next()).expect("coordinates");
        let numbers: Vec<&str> = coords.split(['[', ']', ',']).filter(|t| !t.is_empty()).collect();
        assert_eq!(numbers.len(), 600, "{args:?}");
        let worst = numbers.iter().copied().max_by_key(|t| decimals(t)).expect("numbers");
        assert!(decimals(worst) <= most, "{args:?}: {worst} has more than {most} decimals");
    }
}

/// `--format svg` draws the route through every stop and back, one dot a
/// stop; batches are refused.
#[test]
fn svg_draws_the_round_trip() {
    let svg = ok(&["solve", "--format", "svg", SEED_REQUEST], None);
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{svg}");
    let points = svg.split("points=\"").nth(1).and_then(|r| r.split('"').next()).expect("polyline");
    let n = seed_coords().len();
    assert_eq!(points.split_whitespace().count(), n + 1, "every stop and back to the start");
    assert_eq!(svg.matches("<circle").count(), n, "a dot a stop, the start's in red");
    assert!(svg.contains(&format!("<title>{n} stops, ")), "{svg}");
    let tsp = ok(&["solve", "--format", "svg", "--time-limit", "0.1", &format!("{TSPLIB_DIR}berlin52.tsp")], None);
    let points = tsp.split("points=\"").nth(1).and_then(|r| r.split('"').next()).expect("polyline");
    assert_eq!(points.split_whitespace().count(), 53);
    // A GEO file is a map, north up: the Mediterranean of ulysses22 spans
    // 31° of longitude and 8° of latitude, Burma the other way round.
    let size = |name: &str| {
        let svg = ok(&["solve", "--format", "svg", "--iterations", "10", &format!("{TSPLIB_DIR}{name}.tsp")], None);
        let number = |key: &str| -> f64 {
            svg.split(&format!(" {key}=\"")).nth(1).and_then(|r| r.split('"').next()).unwrap().parse().unwrap()
        };
        (number("width"), number("height"))
    };
    let ((w, h), (bw, bh)) = (size("ulysses22"), size("burma14"));
    assert!(w > 2.0 * h && bh > 1.5 * bw, "ulysses22 {w}×{h}, burma14 {bw}×{bh}");
    // A euclidean request's length is in its own unit, not km.
    let plane = r#"{"coordinates": [[0, 0], [3, 0], [3, 4]], "options": {"metric": "euclidean"}}"#;
    let svg = ok(&["solve", "--format", "svg", "-"], Some(plane.as_bytes()));
    assert!(svg.contains("<title>3 stops, 12.000</title>"), "{svg}");
    let o = run(&["solve", "--format", "svg", "--ndjson", "-"], Some(b"{}\n"));
    assert!(!o.status.success() && stderr(&o).contains("svg"), "{}", stderr(&o));
    // A request refused has no picture: its reason on stderr, nothing on stdout, exit 2.
    for (bad, reason) in [
        (
            r#"{"coordinates": [[91, 0], [0, 0]]}"#,
            "invalid_request: coordinates[0][0]: latitude 91 is outside [-90, 90]",
        ),
        ("", "invalid_json: "),
    ] {
        let o = run(&["solve", "--format", "svg", "-"], Some(bad.as_bytes()));
        assert_eq!(o.status.code(), Some(2), "{bad}");
        assert!(
            o.stdout.is_empty() && stderr(&o).contains(&format!("standard input: no picture: {reason}")),
            "{}",
            stderr(&o)
        );
    }
    // An open path's end is a ring; one stop is "1 stop".
    let path = r#"{"coordinates": [[41.9, -87.6], [40.7, -74.0], [34.1, -118.2]], "options": {"round_trip": false}}"#;
    let svg = ok(&["solve", "--format", "svg", "-"], Some(path.as_bytes()));
    assert_eq!(svg.matches(r#"fill="white" stroke="#).count(), 1, "{svg}");
    let one = ok(&["solve", "--format", "svg", "-"], Some(br#"{"coordinates": [[41.9, -87.6]]}"#));
    assert!(one.contains("<title>1 stop, 0.000 km</title>"), "{one}");
    // A round trip from the pole comes back up to it at the last stop's
    // longitude: the closing leg is vertical.
    let pole = ok(&["solve", "--format", "svg", "-"], Some(br#"{"coordinates": [[90, 0], [89, 10], [89, 100]]}"#));
    let points = pole.split("points=\"").nth(1).and_then(|r| r.split('"').next()).expect("polyline");
    let xy: Vec<(&str, &str)> = points.split_whitespace().filter_map(|p| p.split_once(',')).collect();
    assert_eq!(xy.len(), 4, "{points}");
    assert!(xy[3].0 == xy[2].0 && xy[3].1 == xy[0].1 && xy[3].0 != xy[0].0, "{points}");
}

/// Reads `child`'s stdout on a thread, a line at a time, into a channel.
fn stdout_lines(child: &mut std::process::Child) -> std::sync::mpsc::Receiver<String> {
    let stdout = child.stdout.take().expect("stdout piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits up to `limit` for `child` to end; kills it (and returns `None`) if it has not.
fn wait_within(child: &mut std::process::Child, limit: std::time::Duration) -> Option<std::process::ExitStatus> {
    let t0 = std::time::Instant::now();
    while t0.elapsed() < limit {
        if let Some(status) = child.try_wait().expect("waiting for route-optim") {
            return Some(status);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// Every subcommand whose standard output is already closed (as after
/// `| head -1`) ends quietly with status 0: no panic, no "Broken pipe".
#[test]
fn closed_stdout_ends_every_subcommand_quietly() {
    let ndjson = format!("{}\n", std::fs::read_to_string(SEED_REQUEST).unwrap().replace('\n', " "));
    let cases: [(&[&str], Option<&[u8]>); 6] = [
        (&["info"], None),
        (&["gen", "--n", "5", "--count", "3"], None),
        (&["solve", SEED_REQUEST], None),
        (&["solve", "--ndjson", "-"], Some(ndjson.as_bytes())),
        (&["bench", "tsplib", TSPLIB_DIR, "--time-limit", "0.01", "--only", "burma14,ulysses22"], None),
        (&["bench", "batch", "--stops", "5", "--count", "4", "--reference", "2"], None),
    ];
    for (args, stdin) in cases {
        let (reader, writer) = std::io::pipe().expect("a pipe");
        drop(reader);
        let mut child = Command::new(BIN)
            .args(args)
            .current_dir(ROOT)
            .env_remove("ROUTE_OPTIM_BACKEND")
            .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(writer)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(bytes) = stdin {
            child.stdin.take().unwrap().write_all(bytes).unwrap();
        }
        let o = child.wait_with_output().unwrap();
        let err = stderr(&o);
        assert!(o.status.success(), "{args:?} on a closed stdout: {} {err}", o.status);
        assert!(!err.contains("panicked") && !err.contains("Broken pipe"), "{args:?}: {err}");
    }
}

/// A producer that has sent a line and part of the next gets the answer to
/// the complete line without finishing the partial one.
#[test]
fn ndjson_answers_complete_lines_before_a_partial_one() {
    let mut child = ndjson_child(&[]);
    let mut stdin = child.stdin.take().unwrap();
    let rx = stdout_lines(&mut child);
    let coords = seed_coords();
    let second = serde_json::json!({ "id": "second", "coordinates": coords }).to_string();
    let (head, tail) = second.split_at(second.len() / 2);
    writeln!(stdin, "{}", serde_json::json!({ "id": "first", "coordinates": coords })).unwrap();
    write!(stdin, "{head}").unwrap();
    stdin.flush().unwrap();
    let first = rx.recv_timeout(std::time::Duration::from_secs(20));
    if first.is_err() {
        let _ = child.kill();
    }
    let first = json(&first.expect("the complete line waited for the partial one"));
    assert_eq!(first["id"], "first");
    check_prediction(&first, None, &coords, true);
    writeln!(stdin, "{tail}").unwrap();
    drop(stdin);
    let second = json(&rx.recv_timeout(std::time::Duration::from_secs(20)).expect("no answer to the second line"));
    assert_eq!(second["id"], "second");
    check_prediction(&second, None, &coords, true);
    assert!(child.wait().unwrap().success());
}

/// Standard input that fails mid-stream (a TCP connection reset): every
/// line read before is answered, then the run fails with status 2 and says
/// where.
#[test]
fn ndjson_read_error_answers_every_line_read_first() {
    use std::net::{TcpListener, TcpStream};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (mut server, _) = listener.accept().unwrap();
    // Bytes left unread on the server's side make its close a reset (RST),
    // which the reader of `client` sees as an error, not as the end.
    (&client).write_all(b"unread").unwrap();
    let mut child = Command::new(BIN)
        .args(["solve", "--ndjson", "-"])
        .env_remove("ROUTE_OPTIM_BACKEND")
        .stdin(Stdio::from(std::os::fd::OwnedFd::from(client)))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let rx = stdout_lines(&mut child);
    let coords = seed_coords();
    for id in 0..3 {
        writeln!(server, "{}", serde_json::json!({ "id": id, "coordinates": coords })).unwrap();
    }
    // Blank lines count as lines read, and a line cut off by the failure is not one.
    write!(server, "\n{{\"id\": 3, \"coordinates\": [[1, ").unwrap();
    server.flush().unwrap();
    for id in 0..3 {
        let line = rx.recv_timeout(std::time::Duration::from_secs(20));
        if line.is_err() {
            let _ = child.kill();
        }
        let v = json(&line.unwrap_or_else(|_| panic!("no answer to line {id} before the failure")));
        assert_eq!(v["id"], id);
        check_prediction(&v, None, &coords, true);
    }
    drop(server);
    let status = wait_within(&mut child, std::time::Duration::from_secs(20)).expect("still running after the reset");
    assert_eq!(status.code(), Some(2));
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(err.contains("cannot read standard input after line 4"), "{err}");
    assert!(rx.recv_timeout(std::time::Duration::from_secs(5)).is_err(), "an output for the cut-off line");
}

/// Ctrl-C while `solve` waits on an open producer ends it at once; a line
/// sent after that is not answered.
#[test]
fn ctrl_c_while_waiting_for_input_stops_reading() {
    let mut child = ndjson_child(&[]);
    let mut stdin = child.stdin.take().unwrap();
    let rx = stdout_lines(&mut child);
    let coords = seed_coords();
    writeln!(stdin, "{}", serde_json::json!({ "id": "before", "coordinates": coords })).unwrap();
    stdin.flush().unwrap();
    let line = rx.recv_timeout(std::time::Duration::from_secs(20)).expect("no answer while the input is open");
    assert_eq!(json(&line)["id"], "before");
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    std::thread::sleep(std::time::Duration::from_millis(200));
    // Ignored if the process has ended already (a broken pipe).
    let _ = writeln!(stdin, "{}", serde_json::json!({ "id": "after", "coordinates": coords }));
    let _ = stdin.flush();
    let status = wait_within(&mut child, std::time::Duration::from_secs(10));
    let status = status.expect("still waiting on input 10 s after Ctrl-C");
    assert!(status.success(), "{status}");
    drop(stdin);
    let rest: Vec<String> = rx.iter().collect();
    assert!(rest.is_empty(), "answered after Ctrl-C: {rest:?}");
}

/// A 1 GiB NDJSON line is answered with a `too_large` error record without
/// being held in memory, and the next line is still answered.
#[cfg(target_os = "linux")]
#[test]
fn ndjson_over_long_line_is_too_large_and_never_held() {
    let mut child = ndjson_child(&[]);
    let mut stdin = child.stdin.take().unwrap();
    let rx = stdout_lines(&mut child);
    let block = vec![b'7'; 1 << 20];
    for _ in 0..1024 {
        stdin.write_all(&block).unwrap();
    }
    let coords = seed_coords();
    writeln!(stdin, "\n{}", serde_json::json!({ "id": "next", "coordinates": coords })).unwrap();
    stdin.flush().unwrap();
    let mut outs = Vec::new();
    for _ in 0..2 {
        let line = rx.recv_timeout(std::time::Duration::from_secs(60));
        if line.is_err() {
            let _ = child.kill();
        }
        outs.push(json(&line.expect("no answer")));
    }
    // The peak resident memory so far, while the process still waits on input.
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    let peak_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status");
    drop(stdin);
    assert!(child.wait().unwrap().success());
    assert_eq!(outs[0]["error"]["code"], "too_large", "{}", outs[0]);
    let message = outs[0]["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("request: line 1 ") && message.contains("268435456 bytes"), "{message}");
    assert_eq!(outs[1]["id"], "next");
    check_prediction(&outs[1], None, &coords, true);
    assert!(peak_kib < 600 << 10, "peak {} MiB for a line cut off at 256 MiB", peak_kib >> 10);
}

/// NDJSON lines a little over a megabyte (a long location name) each keep
/// only their own size: under a 2 GB address-space limit, 16 of them are
/// all answered. Each used to keep room for the longest line (256 MiB), and
/// the process aborted with nothing written.
#[cfg(target_os = "linux")]
#[test]
fn ndjson_lines_over_a_megabyte_keep_their_own_size() {
    let name = "x".repeat(1_100_000);
    let mut input = Vec::new();
    for i in 0..16 {
        let line = serde_json::json!({ "id": i, "locations": [name, "b"], "coordinates": [[0.0, 0.0], [1.0, 1.0]] });
        writeln!(input, "{line}").unwrap();
    }
    let file = TempFile::new("long-lines.ndjson", &input);
    let o = Command::new("bash")
        .args(["-c", r#"ulimit -v 2000000 && exec "$0" solve "$1""#, BIN])
        .arg(&file.0)
        .env_remove("ROUTE_OPTIM_BACKEND")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}: {}", o.status, stderr(&o));
    let outs: Vec<Value> = stdout(&o).lines().map(json).collect();
    assert_eq!(outs.len(), 16);
    for (i, out) in outs.iter().enumerate() {
        assert_eq!(out["id"], i, "{}", &stdout(&o)[..200]);
        check_prediction(out, Some(&[name.as_str(), "b"]), &[[0.0, 0.0], [1.0, 1.0]], true);
    }
}

/// What a terminal shows on each line of `transcript`: `\r` goes back to the
/// line's start, `ESC [2K` clears the line, `ESC [K` the rest of it, other
/// escape sequences draw nothing.
fn visible_lines(transcript: &str) -> Vec<String> {
    transcript
        .split('\n')
        .map(|raw| {
            let (mut line, mut col) = (Vec::<char>::new(), 0usize);
            let mut chars = raw.chars().peekable();
            while let Some(c) = chars.next() {
                match c {
                    '\r' => col = 0,
                    '\u{1b}' => {
                        let mut seq = String::new();
                        if chars.peek() == Some(&'[') {
                            chars.next();
                            while let Some(&d) = chars.peek() {
                                chars.next();
                                seq.push(d);
                                if d.is_ascii_alphabetic() {
                                    break;
                                }
                            }
                        }
                        match seq.as_str() {
                            "2K" => line.clear(),
                            "K" | "0K" => line.truncate(col),
                            _ => {}
                        }
                    }
                    c => {
                        if col < line.len() {
                            line[col] = c;
                        } else {
                            line.resize(col, ' ');
                            line.push(c);
                        }
                        col += 1;
                    }
                }
            }
            line.into_iter().collect::<String>().trim_end().to_string()
        })
        .collect()
}

/// Runs `command` (shell) on a pseudo-terminal with `script`, returning
/// what the terminal was sent.
fn on_terminal(command: &str) -> String {
    let o = Command::new("script")
        .args(["-qec", command, "/dev/null"])
        .current_dir(ROOT)
        .env("TERM", "xterm")
        .env_remove("ROUTE_OPTIM_BACKEND")
        .stdin(Stdio::null())
        .output()
        .expect("running script (util-linux)");
    assert!(o.status.success(), "{command}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// On a terminal the progress bar never shares a line with the output, and
/// its time left is the limit less the time used.
#[test]
fn progress_bar_keeps_terminal_output_clean() {
    let line = |id: u32| format!("{{\"id\": {id}, \"coordinates\": [[1, 2], [2, 3], [3, 1]]}}");
    // A slow producer: the bar shows after a second, between the answers.
    let producer = format!("(echo '{}'; sleep 1.6; echo '{}'; sleep 1; echo '{}')", line(1), line(2), line(3));
    let transcript = on_terminal(&format!("{producer} | {BIN} solve --ndjson -"));
    let visible = visible_lines(&transcript);
    let outputs: Vec<&String> = visible.iter().filter(|l| l.contains("UUID")).collect();
    assert_eq!(outputs.len(), 3, "{transcript:?}");
    for (k, l) in outputs.iter().enumerate() {
        assert!(l.starts_with("{\"UUID\""), "output {k} shares its line with the bar: {l:?}\n{transcript:?}");
        assert_eq!(json(l)["id"], k + 1);
    }
    assert!(transcript.contains("solving") || transcript.contains("records"), "no bar drawn: {transcript:?}");

    // One 3-second search: each frame's time used and time left add up to it.
    let tsp = format!("{TSPLIB_DIR}berlin52.tsp");
    let transcript = on_terminal(&format!("{BIN} solve {tsp} --time-limit 3 > /dev/null"));
    let mut frames = 0;
    for frame in transcript.split(['\r', '\n']).filter(|f| f.contains(" left")) {
        // "⠁    2s [=====>      ] length 7542.0, 1.3s left"
        let text = frame.replace("\u{1b}[2K", "");
        let text = text.trim_end();
        let elapsed = text.split(" [").next().and_then(|t| t.split_whitespace().last()).unwrap_or("");
        let left = text.rsplit(", ").next().and_then(|t| t.strip_suffix(" left")).unwrap_or("");
        let secs = |t: &str| t.strip_suffix('s').and_then(|n| n.parse::<f64>().ok());
        let (Some(e), Some(l)) = (secs(elapsed), secs(left)) else { panic!("unreadable frame {frame:?}") };
        assert!((1.5..=4.5).contains(&(e + l)), "{e} s used + {l} s left in a 3 s search: {frame:?}");
        frames += 1;
    }
    assert!(frames > 0, "no frame with the time left: {transcript:?}");
}

/// Log lines (here the solver's debug lines, one per search) are written
/// with the bar hidden: on a terminal none shares a line with it.
#[test]
fn log_lines_never_share_the_bars_line() {
    let coords: Vec<String> = (0..20).map(|i| format!("[{}, {}]", i % 5, (i * 7) % 13)).collect();
    let line = format!("{{\"coordinates\": [{}]}}", coords.join(", "));
    let producer = format!("(echo '{line}'; sleep 1.6; echo '{line}'; sleep 1; echo '{line}')");
    let transcript =
        on_terminal(&format!("{producer} | RUST_LOG=route_optim=debug {BIN} solve --ndjson - > /dev/null"));
    // Two a search: "local search from the start tour", "iterated local search".
    let logs: Vec<String> = visible_lines(&transcript).into_iter().filter(|l| l.contains("DEBUG")).collect();
    assert_eq!(logs.len(), 6, "{transcript:?}");
    for l in &logs {
        assert!(l.starts_with("20"), "a log line shares the bar's line: {l:?}\n{transcript:?}");
    }
    assert!(transcript.contains("records"), "no bar drawn: {transcript:?}");
}

/// `--format geojson` refuses planar requests record by record: GeoJSON is
/// [lon, lat].
#[test]
fn geojson_refuses_planar_requests() {
    let input = concat!(
        "{\"id\": \"plane\", \"coordinates\": [[0, 0], [3, 4], [6, 0]], \"options\": {\"metric\": \"euclidean\"}}\n",
        "{\"id\": \"earth\", \"coordinates\": [[41.8781, -87.6298], [40.73061, -73.935242]]}\n",
    );
    let text = ok(&["solve", "--ndjson", "--format", "geojson", "-"], Some(input.as_bytes()));
    let outs: Vec<Value> = text.lines().map(json).collect();
    assert_eq!(outs.len(), 2, "{text}");
    assert_eq!(outs[0]["id"], "plane");
    assert_eq!(outs[0]["error"]["code"], "invalid_request");
    let message = outs[0]["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("options.metric: euclidean") && message.contains("geojson"), "{message}");
    assert_eq!(outs[1]["type"], "FeatureCollection");
    // One document, and an array.
    let one = json(&ok(&["solve", "--format", "geojson", "-"], Some(input.lines().next().unwrap().as_bytes())));
    assert_eq!(one["error"]["code"], "invalid_request", "{one}");
    let array = format!("[{}]", input.trim_end().replace('\n', ","));
    let both = json(&ok(&["solve", "--format", "geojson", "-"], Some(array.as_bytes())));
    assert_eq!(both[0]["error"]["code"], "invalid_request", "{both}");
    assert_eq!(both[1]["type"], "FeatureCollection", "{both}");
}

/// `--format svg` of one stop, or of stops all at one place, is a picture
/// with finite dimensions.
#[test]
fn svg_of_one_stop_or_one_place_is_a_picture() {
    let number = |svg: &str, name: &str| -> f64 {
        let v = svg.split(&format!(" {name}=\"")).nth(1).and_then(|r| r.split('"').next()).unwrap_or("");
        v.parse().unwrap_or(f64::NAN)
    };
    for body in [
        r#"{"coordinates": [[41.8781, -87.6298]]}"#,
        r#"{"coordinates": [[41.8781, -87.6298], [41.8781, -87.6298], [41.8781, -87.6298]]}"#,
        r#"{"coordinates": [[5, 5], [5, 5]], "options": {"metric": "euclidean"}}"#,
    ] {
        let svg = ok(&["solve", "--format", "svg", "-"], Some(body.as_bytes()));
        assert!(svg.starts_with("<svg") && !svg.contains("NaN") && !svg.contains("inf"), "{body}: {svg}");
        let (w, h) = (number(&svg, "width"), number(&svg, "height"));
        assert!(w.is_finite() && h.is_finite() && w >= 20.0 && h >= 20.0, "{body}: {w} x {h}");
        let circles = svg.matches("<circle").count();
        assert_eq!(circles, json(body)["coordinates"].as_array().unwrap().len(), "{svg}");
    }
}

/// `.TSP`, `.NDJSON` and `.JsonL` are recognised like their lower-case names.
#[test]
fn extensions_match_in_any_case() {
    let berlin = std::fs::read(format!("{TSPLIB_DIR}berlin52.tsp")).unwrap();
    let tsp = TempFile::new("B52.TSP", &berlin);
    let out = json(&ok(&["solve", "--time-limit", "0.05", tsp.path()], None));
    assert_eq!((out["name"].as_str(), out["n"].as_u64()), (Some("berlin52"), Some(52)), "{out}");
    for name in ["r.NDJSON", "r.JsonL"] {
        let file = TempFile::new(name, NDJSON.as_bytes());
        check_ndjson_output(&ok(&["solve", file.path()], None));
    }
}

/// `bench tsplib` reads TSPLIB's own list, where one instance has an
/// optimum per metric (`dsj1000 : 18659688 (EUC_2D)`, `… (CEIL_2D)`), and a
/// list saved with a byte-order mark and CRLF; a line it cannot read is an
/// error naming it (such lines once dropped their instances silently).
#[test]
fn bench_tsplib_reads_tsplibs_solutions_format() {
    let dir = tempfile::tempdir().unwrap();
    let square = "DIMENSION: 4\nEDGE_WEIGHT_TYPE: CEIL_2D\nNODE_COORD_SECTION\n1 0 0\n2 0 9\n3 9 9\n4 9 0\nEOF\n";
    std::fs::write(dir.path().join("sq.tsp"), square).unwrap();
    std::fs::copy(format!("{TSPLIB_DIR}burma14.tsp"), dir.path().join("burma14.tsp")).unwrap();
    let solutions = "\u{feff}burma14 : 3323\r\nsq : 35 (EUC_2D)\r\nsq : 36 (CEIL_2D)\r\n";
    std::fs::write(dir.path().join("solutions"), solutions).unwrap();
    let d = dir.path().to_str().unwrap();
    let table = ok(&["bench", "tsplib", d, "--time-limit", "0.01", "--csv"], None);
    let rows: Vec<Vec<&str>> = table.lines().skip(1).map(|l| l.split(',').take(5).collect()).collect();
    assert_eq!(rows, [vec!["sq", "4", "36", "36", "0.0000"], vec!["burma14", "14", "3323", "3323", "0.0000"]]);
    std::fs::write(dir.path().join("solutions"), "burma14 : 3323\nsq = 36\n").unwrap();
    let o = run(&["bench", "tsplib", d, "--time-limit", "0.01"], None);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains(r#"line 2: expected `NAME : length`, found "sq = 36""#), "{}", stderr(&o));
    std::fs::write(dir.path().join("solutions"), "sq : 35 (EUC_2D)\n").unwrap();
    let o = run(&["bench", "tsplib", d, "--time-limit", "0.01"], None);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("instance sq is CEIL_2D:"), "{}", stderr(&o));
    // An instance over `--max-n` is left out before its optimum is looked
    // up: its metric not being listed is then no error.
    let line: String = (1..=20).map(|i| format!("{i} {i} {}\n", i * i % 7)).collect();
    let line = format!("DIMENSION: 20\nEDGE_WEIGHT_TYPE: CEIL_2D\nNODE_COORD_SECTION\n{line}EOF\n");
    std::fs::write(dir.path().join("line.tsp"), line).unwrap();
    std::fs::write(dir.path().join("solutions"), "burma14 : 3323\nline : 40 (EUC_2D)\n").unwrap();
    let table = ok(&["bench", "tsplib", d, "--time-limit", "0.01", "--csv", "--max-n", "19"], None);
    let names: Vec<&str> = table.lines().skip(1).map(|l| l.split(',').next().unwrap_or("")).collect();
    assert_eq!(names, ["burma14"], "{table}");
    let o = run(&["bench", "tsplib", d, "--time-limit", "0.01", "--max-n", "20"], None);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("instance line is CEIL_2D:"), "{}", stderr(&o));
}

/// `bench tsplib` names a listed instance it cannot read, and an `--only`
/// name that is not listed, instead of leaving them out.
#[test]
fn bench_tsplib_names_missing_instances() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(format!("{TSPLIB_DIR}burma14.tsp"), dir.path().join("burma14.tsp")).unwrap();
    std::fs::write(dir.path().join("solutions"), "burma14 : 3323\nghost7 : 100\n").unwrap();
    let d = dir.path().to_str().unwrap();
    let o = run(&["bench", "tsplib", d, "--time-limit", "0.01"], None);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("ghost7") && stderr(&o).contains("ghost7.tsp"), "{}", stderr(&o));
    let o = run(&["bench", "tsplib", d, "--time-limit", "0.01", "--only", "burma14,nosuch"], None);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("nosuch"), "{}", stderr(&o));
    // Names are trimmed: `--only 'burma14, one'` as a person types it.
    let table = ok(&["bench", "tsplib", d, "--time-limit", "0.01", "--only", " burma14"], None);
    assert!(table.lines().any(|l| l.starts_with("burma14 ")), "{table}");
    let o = run(&["bench", "tsplib", d, "--time-limit", "0.01", "--only", "burma14,"], None);
    assert!(o.status.code() == Some(2) && stderr(&o).contains("an empty instance name"), "{}", stderr(&o));
    // Nothing left to solve is an error, not a table with a header alone.
    for (solutions, args) in [("# none yet\n", &[][..]), ("burma14 : 3323\n", &["--max-n", "5"])] {
        std::fs::write(dir.path().join("solutions"), solutions).unwrap();
        let o = run(&[&["bench", "tsplib", d, "--time-limit", "0.01"][..], args].concat(), None);
        assert_eq!(o.status.code(), Some(2), "{solutions}: {}", stderr(&o));
        assert!(o.stdout.is_empty() && stderr(&o).contains("no instance to solve"), "{}", stderr(&o));
    }
    // One node: the optimum and the tour are 0, and so is the gap.
    std::fs::write(dir.path().join("one.tsp"), "DIMENSION: 1\nEDGE_WEIGHT_TYPE: EUC_2D\nNODE_COORD_SECTION\n1 5 5\n")
        .unwrap();
    std::fs::write(dir.path().join("solutions"), "one : 0\n").unwrap();
    let table = ok(&["bench", "tsplib", d, "--time-limit", "0.01", "--csv"], None);
    assert_eq!(
        table.lines().nth(1).map(|l| l.split(',').take(5).collect::<Vec<_>>()),
        Some(vec!["one", "1", "0", "0", "0.0000"])
    );
}
