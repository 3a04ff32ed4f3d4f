//! TSPLIB `.tsp` files with node coordinates (EUC_2D, CEIL_2D, ATT, GEO).

use crate::metric::{tsplib_geo_degrees, Metric, Tsplib};
use crate::request::MAX_PLANAR;
use std::collections::BTreeMap;
use std::fmt;

/// A parsed instance: points in file order and the file's metric.
#[derive(Clone, Debug)]
pub struct Instance {
    pub name: String,
    pub points: Vec<[f64; 2]>,
    pub metric: Metric,
}

/// A problem with the file, and the 1-based line where it was found.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct TsplibError {
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for TsplibError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// The optima of a `solutions` file, by instance name.
#[derive(Clone, Debug, Default)]
pub struct Solutions(BTreeMap<String, Vec<Optimum>>);

/// One line's optimum: TSPLIB's own list gives one instance's optimum under
/// two metrics (`dsj1000 : 18659688 (EUC_2D)` and `… 18660188 (CEIL_2D)`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Optimum {
    pub length: f64,
    /// The `(EDGE_WEIGHT_TYPE)` after the length, when given.
    pub metric: Option<Tsplib>,
}

impl Solutions {
    /// `NAME : length` lines, optionally followed by `(EDGE_WEIGHT_TYPE)`;
    /// `#` starts a comment (a whole line, or after a length), blank lines
    /// are skipped, and any other line is an error naming it (a line left
    /// out would drop its instance silently).
    pub fn parse(text: &str) -> Result<Solutions, TsplibError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut optima: BTreeMap<String, Vec<Optimum>> = BTreeMap::new();
        for (no, written) in numbered_lines(text) {
            let line = written.split_once('#').map_or(written, |(before, _)| before).trim();
            if line.is_empty() {
                continue;
            }
            let err = |reason: String| TsplibError { line: no, reason };
            let Some((name, value)) = line.split_once(':').map(|(k, v)| (k.trim(), v.trim())) else {
                // The line as written: `a#1 : 5` is not `a`.
                return Err(err(format!("expected `NAME : length`, found {:?}", written.trim())));
            };
            if name.is_empty() {
                return Err(err("no instance name before the colon".into()));
            }
            let (length, metric) = match value.split_once('(') {
                Some((length, kind)) => {
                    let kind = kind
                        .strip_suffix(')')
                        .map(str::trim)
                        .ok_or_else(|| err(format!("{name}: expected `length (EDGE_WEIGHT_TYPE)`, found {value:?}")))?;
                    let metric = Tsplib::from_name(kind).ok_or_else(|| {
                        err(format!(
                            "{name}: ({kind}) is not an EDGE_WEIGHT_TYPE read here (EUC_2D, CEIL_2D, ATT or GEO)"
                        ))
                    })?;
                    (length.trim(), Some(metric))
                }
                None => (value, None),
            };
            let length =
                length.parse::<f64>().ok().filter(|l| l.is_finite() && *l >= 0.0).ok_or_else(|| {
                    err(format!("{name}: the optimum {length:?} is not a length (a number, 0 or more)"))
                })?;
            let listed = optima.entry(name.to_string()).or_default();
            if listed.iter().any(|o| o.metric == metric) {
                return Err(err(format!(
                    "{name}: listed twice{}",
                    metric.map_or(String::new(), |m| format!(" for {}", Metric::Tsplib(m).name()))
                )));
            }
            listed.push(Optimum { length, metric });
        }
        Ok(Solutions(optima))
    }

    /// The listed instance names, in order.
    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.0.keys()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// `name`'s optimum under `metric`: the line given for that metric, or
    /// else the first without one.
    pub fn optimum(&self, name: &str, metric: Metric) -> Option<f64> {
        let listed = self.0.get(name)?;
        let given = listed.iter().find(|o| o.metric.map(Metric::Tsplib) == Some(metric));
        given.or_else(|| listed.iter().find(|o| o.metric.is_none())).map(|o| o.length)
    }
}

/// A file as read from disk: a leading byte-order mark is skipped, and
/// bytes that are not UTF-8 (a comment in Latin-1) read as U+FFFD: the
/// keywords and numbers, all ASCII, are read as written, and a NAME in
/// Latin-1 keeps U+FFFD where its accented letters were.
pub fn read(bytes: &[u8]) -> Result<Instance, TsplibError> {
    parse(&String::from_utf8_lossy(bytes))
}

/// The lines of `text`, numbered from 1, ended by `\n`, `\r\n` or a lone `\r`
/// (an old Mac file), and trimmed.
fn numbered_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let (mut no, mut after_cr) = (0, false);
    text.split_inclusive(['\n', '\r']).filter_map(move |piece| {
        let crlf = after_cr && piece == "\n";
        after_cr = piece.ends_with('\r');
        if crlf {
            return None;
        }
        no += 1;
        Some((no, piece.trim()))
    })
}

pub fn parse(text: &str) -> Result<Instance, TsplibError> {
    let err = |line: usize, reason: String| TsplibError { line, reason };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // Edges every tour must hold: a different problem, which a tour of the
    // points alone would be reported optimal for without them.
    if let Some((no, _)) = numbered_lines(text).find(|(_, l)| l.starts_with("FIXED_EDGES_SECTION")) {
        return Err(err(no, "FIXED_EDGES_SECTION is not supported (tours through given edges)".into()));
    }
    let (mut name, mut dim, mut metric) = (String::new(), None, None);
    let mut lines = numbered_lines(text);
    let mut section = None;
    for (no, line) in lines.by_ref() {
        if line.is_empty() {
            continue;
        }
        if line.starts_with("NODE_COORD_SECTION") {
            section = Some(no);
            break;
        }
        if line == "EOF" {
            break;
        }
        // `KEY : value`; a line without the colon is read as `KEY value`.
        let (key, value) = match line.split_once(':') {
            Some((k, v)) => (k.trim(), v.trim()),
            None => line.split_once(char::is_whitespace).map_or((line, ""), |(k, v)| (k, v.trim())),
        };
        match key {
            "NAME" => name = value.to_string(),
            "TYPE" if value != "TSP" => return Err(err(no, format!("TYPE {value} is not supported (only TSP)"))),
            "DIMENSION" => {
                let n = value.parse::<usize>().map_err(|_| err(no, format!("DIMENSION {value:?} is not a count")))?;
                if n == 0 {
                    return Err(err(no, "DIMENSION 0: an instance needs at least one node".to_string()));
                }
                if n > crate::request::MAX_POINTS {
                    return Err(err(no, format!("DIMENSION {n} exceeds the limit of {}", crate::request::MAX_POINTS)));
                }
                dim = Some(n)
            }
            "EDGE_WEIGHT_TYPE" => {
                metric = Some(Tsplib::from_name(value).ok_or_else(|| {
                    err(no, format!("EDGE_WEIGHT_TYPE {value} is not supported (EUC_2D, CEIL_2D, ATT or GEO)"))
                })?)
            }
            _ => {}
        }
    }
    let last = numbered_lines(text).count().max(1);
    if text.trim().is_empty() {
        return Err(err(1, "the file is empty".into()));
    }
    let Some(section) = section else {
        return Err(err(last, "no NODE_COORD_SECTION".into()));
    };
    let dim = dim.ok_or_else(|| err(section, "no DIMENSION before NODE_COORD_SECTION".into()))?;
    let metric = metric.ok_or_else(|| err(section, "no EDGE_WEIGHT_TYPE before NODE_COORD_SECTION".into()))?;
    let mut points = vec![None; dim];
    for (no, line) in lines {
        if line.is_empty() {
            continue;
        }
        if line == "EOF" || line.ends_with("_SECTION") {
            break;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        let [id, x, y] = f[..] else {
            return Err(err(no, format!("expected `id x y`, found {line:?}")));
        };
        let id: usize = id.parse().map_err(|_| err(no, format!("node id {id:?} is not a number")))?;
        let num = |s: &str| s.parse::<f64>().ok().filter(|v| v.is_finite());
        let (Some(xv), Some(yv)) = (num(x), num(y)) else {
            return Err(err(no, format!("coordinates {x:?} {y:?} are not finite numbers")));
        };
        if metric == Tsplib::Geo {
            // GEO is `DDD.MM` latitude then longitude (89.99 is 89° 99′,
            // past 90°, as TSPLIB reads it). Longitude may run either
            // -180..180 or 0..360; anything further is not a place, and its
            // trigonometry would lose every digit.
            if tsplib_geo_degrees(xv).abs() > 90.0 {
                return Err(err(no, format!("GEO latitude {x} (DDD.MM) is outside ±90°")));
            }
            if tsplib_geo_degrees(yv).abs() > 360.0 {
                return Err(err(no, format!("GEO longitude {y} (DDD.MM) is outside ±360°")));
            }
        } else if xv.abs() > MAX_PLANAR || yv.abs() > MAX_PLANAR {
            return Err(err(no, format!("coordinates {x} {y} are outside ±{MAX_PLANAR:e}, the planar range")));
        }
        let slot = id
            .checked_sub(1)
            .and_then(|i| points.get_mut(i))
            .ok_or_else(|| err(no, format!("node id {id} is outside 1..={dim}")))?;
        if slot.replace([xv, yv]).is_some() {
            return Err(err(no, format!("node {id} is given twice")));
        }
    }
    let points = points
        .into_iter()
        .enumerate()
        .map(|(i, p)| p.ok_or_else(|| err(last, format!("node {} has no coordinates", i + 1))))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Instance { name, points, metric: Metric::Tsplib(metric) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solutions_are_name_and_length() {
        let text = "\u{feff}a280 : 2579\r\nberlin52: 7542 \n\n# comment\n\
                    dsj1000 : 18659688 (EUC_2D)\ndsj1000 : 18660188 (CEIL_2D)\none : 0\n\
                    burma14 : 3323 # Groetschel\n  # indented comment\n";
        let s = Solutions::parse(text).unwrap();
        assert_eq!(s.names().collect::<Vec<_>>(), ["a280", "berlin52", "burma14", "dsj1000", "one"]);
        assert_eq!(s.optimum("burma14", Metric::Tsplib(Tsplib::Geo)), Some(3323.0), "a comment after the length");
        assert_eq!(
            s.optimum("a280", Metric::Tsplib(Tsplib::Euc2d)),
            Some(2579.0),
            "the byte-order mark is not in the name"
        );
        assert_eq!(s.optimum("berlin52", Metric::Tsplib(Tsplib::Geo)), Some(7542.0));
        assert_eq!(s.optimum("dsj1000", Metric::Tsplib(Tsplib::Euc2d)), Some(18659688.0));
        assert_eq!(s.optimum("dsj1000", Metric::Tsplib(Tsplib::Ceil2d)), Some(18660188.0));
        assert_eq!(s.optimum("dsj1000", Metric::Tsplib(Tsplib::Att)), None, "listed for other metrics only");
        assert_eq!(s.optimum("one", Metric::Tsplib(Tsplib::Euc2d)), Some(0.0));
        assert_eq!(s.optimum("ghost", Metric::Tsplib(Tsplib::Euc2d)), None);
        let error = |text: &str| Solutions::parse(text).unwrap_err().to_string();
        assert_eq!(error("a : 1\nbad : x\n"), r#"line 2: bad: the optimum "x" is not a length (a number, 0 or more)"#);
        assert_eq!(error("a : -3"), r#"line 1: a: the optimum "-3" is not a length (a number, 0 or more)"#);
        assert_eq!(error("a : inf"), r#"line 1: a: the optimum "inf" is not a length (a number, 0 or more)"#);
        assert_eq!(error("burma14 = 3323"), r#"line 1: expected `NAME : length`, found "burma14 = 3323""#);
        assert_eq!(error("a#1 : 5"), r#"line 1: expected `NAME : length`, found "a#1 : 5""#);
        assert_eq!(
            error("a : 5 (MAN_2D)"),
            "line 1: a: (MAN_2D) is not an EDGE_WEIGHT_TYPE read here (EUC_2D, CEIL_2D, ATT or GEO)"
        );
        assert_eq!(error(" : 5"), "line 1: no instance name before the colon");
        assert_eq!(error(" : x"), "line 1: no instance name before the colon");
        assert_eq!(error("a : 5 (GEO"), r#"line 1: a: expected `length (EDGE_WEIGHT_TYPE)`, found "5 (GEO""#);
        assert_eq!(error("a : 5 (GEO) x"), r#"line 1: a: expected `length (EDGE_WEIGHT_TYPE)`, found "5 (GEO) x""#);
        assert_eq!(error("a : 3000\na : 3323"), "line 2: a: listed twice");
        assert_eq!(error("a : 1 (ATT)\na : 2\na : 3 (ATT)"), "line 3: a: listed twice for ATT");
    }

    #[test]
    fn fixed_edges_are_refused() {
        let head = "NAME: t\nTYPE: TSP\nDIMENSION: 3\nEDGE_WEIGHT_TYPE: EUC_2D\n";
        let nodes = "NODE_COORD_SECTION\n1 0 0\n2 1 0\n3 0 1\n";
        let fixed = "FIXED_EDGES_SECTION\n1 3\n-1\n";
        let reason = "FIXED_EDGES_SECTION is not supported (tours through given edges)";
        let after = parse(&format!("{head}{nodes}DISPLAY_DATA_SECTION\n1 0 0\n{fixed}EOF\n")).unwrap_err();
        assert_eq!((after.line, after.reason.as_str()), (11, reason));
        let before = parse(&format!("{head}{fixed}{nodes}EOF\n")).unwrap_err();
        assert_eq!((before.line, before.reason.as_str()), (5, reason));
        assert!(parse(&format!("{head}{nodes}DISPLAY_DATA_SECTION\n1 0 0\nEOF\n")).is_ok());
    }

    #[test]
    fn parses_header_and_nodes() {
        let i = parse(
            "NAME: t\nTYPE: TSP\nDIMENSION: 2\nEDGE_WEIGHT_TYPE: ATT\nNODE_COORD_SECTION\n2 3 4\n1 1.5 2e1\nEOF\n",
        )
        .unwrap();
        assert_eq!(i.name, "t");
        assert_eq!(i.metric, Metric::Tsplib(Tsplib::Att));
        assert_eq!(i.points, vec![[1.5, 20.0], [3.0, 4.0]]);
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("DIMENSION: 2\nEDGE_WEIGHT_TYPE: EXPLICIT\n").unwrap_err();
        assert_eq!(e.to_string(), "line 2: EDGE_WEIGHT_TYPE EXPLICIT is not supported (EUC_2D, CEIL_2D, ATT or GEO)");
        let e = parse("DIMENSION: 2\nEDGE_WEIGHT_TYPE: EUC_2D\nNODE_COORD_SECTION\n1 0 0\n2 x 0\n").unwrap_err();
        assert_eq!(e.line, 5);
        let e = parse("DIMENSION: 2\nEDGE_WEIGHT_TYPE: EUC_2D\nNODE_COORD_SECTION\n1 0 0\n").unwrap_err();
        assert_eq!(e.reason, "node 2 has no coordinates");
        let e = parse("DIMENSION: 2\nEDGE_WEIGHT_TYPE: EUC_2D\nNODE_COORD_SECTION\n1 0 0\n1 1 1\n").unwrap_err();
        assert_eq!(e.to_string(), "line 5: node 1 is given twice");
        let e = parse("DIMENSION: 2\nEDGE_WEIGHT_TYPE: EUC_2D\nNODE_COORD_SECTION\n3 0 0\n").unwrap_err();
        assert_eq!(e.reason, "node id 3 is outside 1..=2");
        let e = parse("NAME: z\nDIMENSION: 0\nEDGE_WEIGHT_TYPE: EUC_2D\nNODE_COORD_SECTION\nEOF\n").unwrap_err();
        assert_eq!(e.to_string(), "line 2: DIMENSION 0: an instance needs at least one node");
        let e = parse("DIMENSION: 2\nEDGE_WEIGHT_TYPE: EUC_2D\nNODE_COORD_SECTION\n1 0 0\n2 1e200 0\n").unwrap_err();
        assert_eq!(e.to_string(), "line 5: coordinates 1e200 0 are outside ±1e9, the planar range");
        let geo =
            |node: &str| parse(&format!("DIMENSION: 2\nEDGE_WEIGHT_TYPE: GEO\nNODE_COORD_SECTION\n1 0 0\n{node}\n"));
        assert_eq!(geo("2 90.00 -360").unwrap().points[1], [90.0, -360.0]);
        assert_eq!(geo("2 -90.01 0").unwrap_err().to_string(), "line 5: GEO latitude -90.01 (DDD.MM) is outside ±90°");
        assert_eq!(geo("2 89.99 0").unwrap_err().to_string(), "line 5: GEO latitude 89.99 (DDD.MM) is outside ±90°");
        assert!(geo("2 1e200 0").unwrap_err().to_string().starts_with("line 5: GEO latitude 1e200"));
        assert_eq!(geo("2 10 360.5").unwrap_err().to_string(), "line 5: GEO longitude 360.5 (DDD.MM) is outside ±360°");
    }

    /// A header that lacks a keyword is named at the section it should come
    /// before; an empty file says so.
    #[test]
    fn missing_parts_are_named_where_they_are_missed() {
        let e = |text: &str| parse(text).unwrap_err().to_string();
        assert_eq!(e(""), "line 1: the file is empty");
        assert_eq!(e(" \n\n"), "line 1: the file is empty");
        assert_eq!(e("NAME: x\nDIMENSION: 2\nEDGE_WEIGHT_TYPE: EUC_2D\n"), "line 3: no NODE_COORD_SECTION");
        assert_eq!(
            e("NAME: x\nEDGE_WEIGHT_TYPE: EUC_2D\nNODE_COORD_SECTION\n1 0 0\nEOF\n"),
            "line 3: no DIMENSION before NODE_COORD_SECTION"
        );
        assert_eq!(
            e("DIMENSION: 1\n\nNODE_COORD_SECTION\n1 0 0\n"),
            "line 3: no EDGE_WEIGHT_TYPE before NODE_COORD_SECTION"
        );
    }

    /// What other writers of the format produce: keywords without the colon,
    /// old Mac line ends (a lone CR), a byte-order mark, a comment in Latin-1.
    #[test]
    fn variants_of_the_format_are_read() {
        let body = "NODE_COORD_SECTION\n1 0 0\n2 3 4\nEOF\n";
        let i = parse(&format!("NAME t\nDIMENSION 2\nEDGE_WEIGHT_TYPE\tEUC_2D\n{body}")).unwrap();
        assert_eq!((i.name.as_str(), i.metric, i.points.len()), ("t", Metric::Tsplib(Tsplib::Euc2d), 2));
        let cr = "NAME: t\rDIMENSION: 2\rEDGE_WEIGHT_TYPE: EUC_2D\rNODE_COORD_SECTION\r1 0 0\r2 x 4\r";
        assert_eq!(parse(cr).unwrap_err().to_string(), "line 6: coordinates \"x\" \"4\" are not finite numbers");
        let crlf = cr.replace('\r', "\r\n");
        assert_eq!(parse(&crlf).unwrap_err().line, 6);
        let mut latin1 =
            b"\xef\xbb\xbfNAME: t\nCOMMENT: S\xe3o Paulo\nDIMENSION: 2\nEDGE_WEIGHT_TYPE: EUC_2D\n".to_vec();
        latin1.extend_from_slice(body.as_bytes());
        let i = read(&latin1).unwrap();
        assert_eq!((i.name.as_str(), i.points[1]), ("t", [3.0, 4.0]));
    }
}
