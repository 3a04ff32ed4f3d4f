//! Requests: the raw wire shape (serde, unvalidated) and the validated
//! [`Request`] the engine accepts. Every rejection names the field and the
//! reason, e.g. `coordinates[2][0]: latitude 91 is outside [-90, 90]`.

use crate::metric::Metric;
use crate::solver::Problem;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;
use std::time::Duration;

/// Most points one request may hold.
pub const MAX_POINTS: usize = 2_000_000;
/// Longest `options.time_limit_ms`: one hour.
pub const MAX_TIME_LIMIT_MS: f64 = 3_600_000.0;
/// Longest string `id` echoed back (bytes).
pub const MAX_ID_BYTES: usize = 256;
/// Largest |x| or |y| for the euclidean metric (keeps distances finite in f32 lanes).
pub const MAX_PLANAR: f64 = 1e9;

/// A client's `id`, kept as the JSON text it came in: echoed exactly, also a
/// number that f64 would round (`12345678901234567890123`). Only what
/// [`Id::check`] accepts is ever echoed.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(transparent)]
pub struct Id(Box<RawValue>);

impl Id {
    /// The id as JSON text.
    pub fn json(&self) -> &str {
        self.0.get()
    }

    /// Why this id cannot be echoed, if it cannot: a string of at most
    /// `MAX_ID_BYTES` bytes that JSON readers can decode (no lone
    /// surrogate), or a number of at most `MAX_ID_BYTES` characters within
    /// f64's range (so that serde_json and JavaScript read it back).
    fn check(&self) -> Result<(), String> {
        let text = self.json();
        if text.starts_with('"') {
            // Without serde's line and column: they count from the id, not the file.
            let s = serde_json::from_str::<String>(text).map_err(|e| format!("not a valid string: {}", reason(&e)))?;
            if s.len() > MAX_ID_BYTES {
                return Err(format!("longer than {MAX_ID_BYTES} bytes"));
            }
        } else if text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
            if text.len() > MAX_ID_BYTES {
                return Err(format!("a number longer than {MAX_ID_BYTES} characters"));
            }
            if !text.parse::<f64>().is_ok_and(f64::is_finite) {
                return Err(format!("{text} is beyond the range of f64; send it as a string"));
            }
        } else {
            return Err("must be a string or a number".into());
        }
        Ok(())
    }

    fn echoable(&self) -> bool {
        self.check().is_ok()
    }
}

impl PartialEq for Id {
    fn eq(&self, other: &Id) -> bool {
        self.json() == other.json()
    }
}

/// A request exactly as it arrives: types checked by serde, nothing else.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRequest {
    #[serde(default)]
    pub locations: Option<Vec<String>>,
    pub coordinates: Vec<[f64; 2]>,
    #[serde(default)]
    pub id: Option<Id>,
    #[serde(default, deserialize_with = "object")]
    pub options: Option<RawOptions>,
}

/// `options` as an object or `null` only: serde would also read the struct
/// from an array, by position.
fn object<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<RawOptions>, D::Error> {
    struct Object;
    impl<'de> serde::de::Visitor<'de> for Object {
        type Value = Option<RawOptions>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            RawOptions::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Some)
        }
    }
    d.deserialize_any(Object)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawOptions {
    pub round_trip: Option<bool>,
    #[serde(default, deserialize_with = "whole")]
    pub start: Option<usize>,
    #[serde(default, deserialize_with = "whole")]
    pub end: Option<usize>,
    pub metric: Option<String>,
    pub time_limit_ms: Option<f64>,
    #[serde(default, deserialize_with = "whole")]
    pub seed: Option<u64>,
}

/// 2^53: every whole f64 below it is one integer's only spelling; from it
/// on, `9007199254740993.0` reads as 2^53 too. A whole number written as a
/// float (`1.0`, `2e3`) is taken below it.
const EXACT_FLOATS_END: f64 = 9_007_199_254_740_992.0;

/// The whole-number options' types, with their largest value.
trait Whole: TryFrom<u64> {
    const MAX: u64;
}

impl Whole for u64 {
    const MAX: u64 = u64::MAX;
}

impl Whole for usize {
    const MAX: u64 = usize::MAX as u64;
}

/// `start`, `end` and `seed`: a whole number from 0 to `T::MAX`, or `null`;
/// also written as a float (`1.0`, as Python writes a float that holds one)
/// below 2^53. serde's own messages spoke of Rust's types: 2^64 was
/// "invalid type: floating point `1.8446744073709552e19`, expected u64".
fn whole<'de, D: serde::Deserializer<'de>, T: Whole>(d: D) -> Result<Option<T>, D::Error> {
    use serde::de::Error;
    struct Visitor<T>(std::marker::PhantomData<T>);
    fn range<T: Whole>() -> String {
        format!("expected a whole number from 0 to {}", T::MAX)
    }
    impl<'de, T: Whole> serde::de::Visitor<'de> for Visitor<T> {
        type Value = Option<T>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a whole number")
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E: Error>(self, v: u64) -> Result<Self::Value, E> {
            T::try_from(v).map(Some).map_err(|_| E::custom(format!("{v} is too large; {}", range::<T>())))
        }
        fn visit_i64<E: Error>(self, v: i64) -> Result<Self::Value, E> {
            match u64::try_from(v) {
                Ok(v) => self.visit_u64(v),
                Err(_) => Err(E::custom(format!("{v} is negative; {}", range::<T>()))),
            }
        }
        fn visit_f64<E: Error>(self, v: f64) -> Result<Self::Value, E> {
            let written = shown(v);
            if v.fract() != 0.0 {
                Err(E::custom(format!("{written} is not whole; {}", range::<T>())))
            } else if v < 0.0 {
                Err(E::custom(format!("{written} is negative; {}", range::<T>())))
            } else if v >= 18_446_744_073_709_551_616.0 {
                Err(E::custom(format!("{written} is too large; {}", range::<T>())))
            } else if v >= EXACT_FLOATS_END {
                Err(E::custom(format!(
                    "{written} as a float is not exact from 2^53 on: write the whole number without a point or exponent"
                )))
            } else {
                self.visit_u64(v as u64)
            }
        }
    }
    d.deserialize_any(Visitor(std::marker::PhantomData))
}

/// A validated request: names for the output and the problem to solve.
#[derive(Clone, Debug)]
pub struct Request {
    pub id: Option<Id>,
    /// Location names; `None` means "0", "1", ...
    pub names: Option<Vec<String>>,
    pub problem: Problem,
}

impl Request {
    pub fn name(&self, i: usize) -> String {
        match &self.names {
            Some(names) => names[i].clone(),
            None => i.to_string(),
        }
    }
}

/// Why a record was rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RequestError {
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("coordinates: {n} points exceed the limit of {max}")]
    TooLarge { n: usize, max: usize },
    /// Found before solving, from the shortest prediction the request can give.
    #[error(
        "prediction: at least {bytes} bytes with its partition key exceed the Kinesis record limit of {max} bytes"
    )]
    PredictionTooLarge { bytes: usize, max: usize },
}

/// Longest field path and reason an error message repeats whole; beyond
/// them the middle is cut. Messages quote the client's text (a field's
/// name, a metric's, a string where a number belongs), which a record can
/// hold 1 MiB of, and an error record must fit in a Kinesis record.
const FIELD_MAX: usize = 200;
const REASON_MAX: usize = 1000;

impl RequestError {
    fn invalid(field: impl Into<String>, reason: impl Into<String>) -> RequestError {
        RequestError::Invalid { field: clipped(field.into(), FIELD_MAX), reason: clipped(reason.into(), REASON_MAX) }
    }

    /// The `error.code` of the ErrorRecord.
    pub fn code(&self) -> &'static str {
        match self {
            RequestError::InvalidJson(_) => "invalid_json",
            RequestError::Invalid { .. } => "invalid_request",
            RequestError::TooLarge { .. } | RequestError::PredictionTooLarge { .. } => "too_large",
        }
    }
}

/// A rejection, with the client's `id` when one could be read.
#[derive(Debug, Clone)]
pub struct Rejected {
    pub id: Option<Id>,
    pub error: RequestError,
}

/// Where a record starts in the text it came from, so that its JSON errors
/// say where in the file: a request of a JSON array, or an NDJSON line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Origin {
    /// One-based.
    pub line: usize,
    /// One-based, in bytes from the line's start, as serde_json counts.
    pub column: usize,
    /// Zero-based, after a byte-order mark that starts the text (one
    /// inside it, on a later NDJSON line, counts as its bytes).
    pub byte: usize,
}

impl Origin {
    /// A record that is the whole text (a Kinesis record, a one-request file).
    pub const START: Origin = Origin { line: 1, column: 1, byte: 0 };

    /// Where the text after `skipped` (which starts here) starts.
    pub fn after(self, skipped: &[u8]) -> Origin {
        let byte = self.byte + skipped.len();
        match skipped.iter().rposition(|&b| b == b'\n') {
            Some(last) => {
                let lines = skipped.iter().filter(|&&b| b == b'\n').count();
                Origin { line: self.line + lines, column: skipped.len() - last, byte }
            }
            None => Origin { column: self.column + skipped.len(), byte, ..self },
        }
    }
}

/// Decodes and validates one record that is the whole text.
pub fn parse(bytes: &[u8]) -> Result<Request, Rejected> {
    parse_at(bytes, Origin::START)
}

/// Decodes and validates one record that starts at `at` in its file.
/// Decoding goes straight into the vectors of [`RawRequest`]: no JSON tree
/// of a valid record is built. JSON errors say where, as the line and column
/// in the file plus the byte offset, which is what finds the spot in a
/// one-line file of megabytes.
pub fn parse_at(bytes: &[u8], at: Origin) -> Result<Request, Rejected> {
    let whole = bytes.len();
    let bytes = strip_bom(bytes);
    // A mark inside a file (an NDJSON line's) is some of the file's bytes;
    // a record that is the whole text counts from after its mark.
    let mark = whole - bytes.len();
    let at = if at == Origin::START { at } else { Origin { column: at.column + mark, byte: at.byte + mark, ..at } };
    let located = |e: &serde_json::Error| located(bytes, e, at);
    // serde also reads a struct from a sequence; a request is only an object.
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        let found = |kind: &str| RequestError::invalid("request", format!("expected a JSON object, found {kind}"));
        let error = match serde_json::from_slice::<Value>(bytes) {
            Ok(v) => found(kind(&v)),
            Err(e) => match grammar(bytes) {
                Err(broken) => RequestError::InvalidJson(located(&broken)),
                // JSON that no tree holds (`1e999`, `["\udc00"]`): its first byte says what it is.
                Ok(()) if is_unrepresentable(&e) => found(match first {
                    Some(b'[') => "an array",
                    Some(b'"') => "a string",
                    _ => "a number",
                }),
                // Nested deeper than serde_json's limit.
                Ok(()) => RequestError::InvalidJson(located(&e)),
            },
        };
        return Err(Rejected { id: None, error });
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let raw = serde_path_to_error::deserialize::<_, RawRequest>(&mut de)
        .map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            // A key serde could not read (bytes that are not UTF-8) is `?`
            // in the path: the object holding it is named instead.
            let (field, key) = match path.strip_suffix('?') {
                Some(parent) => (parent.strip_suffix('.').unwrap_or(parent).to_string(), true),
                None => (path, false),
            };
            let field = if field.is_empty() || field == "." { "request".to_string() } else { field };
            // The reason of an error that names its field.
            let why = |e: &serde_json::Error| if key { format!("a field name: {}", located(e)) } else { located(e) };
            match inner.classify() {
                serde_json::error::Category::Data => RequestError::invalid(field, why(&inner)),
                _ => match grammar(bytes) {
                    // The non-JSON numbers Python's json.dumps writes, where a
                    // value belongs and the request breaks: named as a wrong
                    // value is, where the literal starts.
                    Err(broken)
                        if (broken.line(), broken.column()) == (inner.line(), inner.column())
                            && mend_non_json_numbers(bytes).is_some_and(|m| grammar(&m).is_ok()) =>
                    {
                        match non_json_number_at(bytes, &broken) {
                            Some((literal, back)) => RequestError::invalid(
                                field,
                                format!("{literal} is not a number JSON allows {}", position(bytes, &broken, at, back)),
                            ),
                            None => RequestError::InvalidJson(located(&broken)),
                        }
                    }
                    Err(broken) => RequestError::InvalidJson(located(&broken)),
                    // JSON's grammar allows these; f64 and Rust's strings do
                    // not. The field is named, as for a wrong type.
                    Ok(()) if is_unrepresentable(&inner) => RequestError::invalid(field, why(&inner)),
                    // Valid JSON that failed as syntax: a point with more than
                    // two numbers. (A tree, but only on this error path: the
                    // grammar alone passes numbers out of f64's range.)
                    Ok(()) if serde_json::from_slice::<Value>(bytes).is_ok() => {
                        RequestError::invalid(field, "expected [lat, lon], an array of two numbers")
                    }
                    Ok(()) => RequestError::InvalidJson(located(&inner)),
                },
            }
        })
        .and_then(|raw| de.end().map(|_| raw).map_err(|e| RequestError::InvalidJson(located(&e))))
        .map_err(|error| Rejected { id: id_of(bytes).or_else(|| id_of_mended(bytes)), error })?;
    // Checked again only for a rejection (`validate` checks it first).
    let id = raw.id.clone();
    validate(raw).map_err(|error| Rejected { id: id.filter(Id::echoable), error })
}

/// An out-of-range number as written: `91`, `-180.5`, and `1e308` or
/// `-1e-300` rather than their hundreds of digits.
fn shown(v: f64) -> String {
    if v == 0.0 || (1e-6..1e16).contains(&v.abs()) {
        v.to_string()
    } else {
        format!("{v:e}")
    }
}

/// Whether serde_json refused a value its grammar allows: a number beyond
/// f64's range (`1e999`: JSON's only spelling of infinity), a string with a
/// lone surrogate escape (`"\udc00"`, or `"\ud800"` with no low half after
/// it: "unexpected end of hex escape"), or bytes that are not UTF-8. Only
/// where [`grammar`] passes the record: such an error comes where the value
/// is, before the rest is read, and `[1e400` is broken JSON.
fn is_unrepresentable(e: &serde_json::Error) -> bool {
    let m = e.to_string();
    ["number out of range", "lone leading surrogate", "unexpected end of hex escape", "invalid unicode code point"]
        .iter()
        .any(|p| m.starts_with(p))
}

/// JSON's grammar alone, on an error path: `IgnoredAny` holds no value, so
/// it passes what Rust cannot hold, and its error says where the text
/// breaks (`[1e400`: at its end, not at the number).
fn grammar(bytes: &[u8]) -> Result<(), serde_json::Error> {
    serde_json::from_slice::<serde::de::IgnoredAny>(bytes).map(|_| ())
}

/// `text` whole when it has at most `max` bytes (or a few more: the
/// marker would not be shorter), else its start and end around what was
/// cut: "…[N bytes]…".
fn clipped(text: String, max: usize) -> String {
    if text.len() <= max + 32 {
        return text;
    }
    let head = text.floor_char_boundary(max / 2);
    let tail = text.ceil_char_boundary(text.len() - max / 2);
    format!("{}…[{} bytes]…{}", &text[..head], tail - head, &text[tail..])
}

/// serde_json's message with its line and column moved from the record
/// (`bytes`) to the file it starts in at `at`, and the byte offset.
fn located(bytes: &[u8], e: &serde_json::Error, at: Origin) -> String {
    if e.line() == 0 {
        return e.to_string();
    }
    format!("{} {}", clipped(reason(e), REASON_MAX / 2), position(bytes, e, at, 0))
}

/// serde_json's message without its " at line L column C".
fn reason(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.strip_suffix(&format!(" at line {} column {}", e.line(), e.column())) {
        Some(reason) => reason.to_string(),
        None => text,
    }
}

/// "at line L column C (byte offset B)": `back` bytes before where `e`
/// happened in `bytes` (on its line), in the file that `bytes` starts in
/// at `at`.
fn position(bytes: &[u8], e: &serde_json::Error, at: Origin, back: usize) -> String {
    let byte = (at.byte + byte_of(bytes, e)).saturating_sub(back);
    let (line, column) = if e.line() == 1 {
        (at.line, (at.column + e.column()).saturating_sub(1 + back))
    } else {
        (at.line + e.line() - 1, e.column().saturating_sub(back))
    };
    format!("at line {line} column {column} (byte offset {byte})")
}

/// The offset in `bytes` of the byte `e` points at. serde_json counts
/// columns in bytes from the line's start, one-based (0 at a line's start,
/// before its first byte).
fn byte_of(bytes: &[u8], e: &serde_json::Error) -> usize {
    let line_start = if e.line() <= 1 {
        0
    } else {
        bytes.iter().enumerate().filter(|&(_, &b)| b == b'\n').nth(e.line() - 2).map_or(bytes.len(), |(i, _)| i + 1)
    };
    line_start + e.column().saturating_sub(1)
}

/// Numbers JSON has no spelling for, as Python's `json.dumps` writes them
/// (its default, `allow_nan=True`) and JavaScript prints them.
const NON_JSON_NUMBERS: [&str; 3] = ["-Infinity", "Infinity", "NaN"];

/// The non-JSON number where `e` says `bytes` break, and how many bytes
/// before that spot it starts: serde_json stops at its first letter, after
/// the sign of `-Infinity`.
fn non_json_number_at(bytes: &[u8], e: &serde_json::Error) -> Option<(&'static str, usize)> {
    let at = byte_of(bytes, e);
    NON_JSON_NUMBERS.into_iter().find_map(|lit| {
        let back = usize::from(lit.starts_with('-'));
        at.checked_sub(back).filter(|&s| literal_at(bytes, s, lit)).map(|_| (lit, back))
    })
}

/// Whether `lit` stands alone at `bytes[i..]`, not inside a longer word.
fn literal_at(bytes: &[u8], i: usize, lit: &str) -> bool {
    let word = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_');
    bytes.get(i..).is_some_and(|rest| rest.starts_with(lit.as_bytes()))
        && !word(bytes.get(i + lit.len()))
        && !word(i.checked_sub(1).and_then(|j| bytes.get(j)))
}

/// A copy of `bytes` with every `NaN`, `Infinity` and `-Infinity` outside
/// strings written as `[]` and spaces, so every byte keeps its offset (and
/// no id is read from one: an array is not an id); `None` when there is
/// none. For finding a broken record's id, and the items of an array with
/// such a number in one of them, whose other items must still be answered.
pub fn mend_non_json_numbers(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut mended: Option<Vec<u8>> = None;
    let (mut i, mut in_string) = (0, false);
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_string => i += 1,
            b'"' => in_string = !in_string,
            _ if !in_string => {
                if let Some(lit) = NON_JSON_NUMBERS.into_iter().find(|lit| literal_at(bytes, i, lit)) {
                    let m = mended.get_or_insert_with(|| bytes.to_vec());
                    m[i..i + 2].copy_from_slice(b"[]");
                    m[i + 2..i + lit.len()].fill(b' ');
                    i += lit.len() - 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    mended
}

/// Drops a UTF-8 byte-order mark, as some Windows editors write.
pub fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The `id` of a record that failed to parse as a request, if it is a JSON
/// object with one (read without building a tree of the rest).
fn id_of(bytes: &[u8]) -> Option<Id> {
    #[derive(Deserialize)]
    struct IdOnly {
        id: Option<Id>,
    }
    serde_json::from_slice::<IdOnly>(bytes).ok()?.id.filter(Id::echoable)
}

/// The id of a record that is not JSON as it stands, read from a copy with
/// its stray bytes as `?` ([`mend_utf8`]) and its NaN and Infinity as `[]`
/// ([`mend_non_json_numbers`]): serde gives up on a record at a key that
/// is not UTF-8 before it reaches the id. Not an id with a `?` in a record
/// that had stray bytes: that may be one of them.
fn id_of_mended(bytes: &[u8]) -> Option<Id> {
    let utf8 = mend_utf8(bytes);
    let text = utf8.as_deref().unwrap_or(bytes);
    let numbers = mend_non_json_numbers(text);
    let id = id_of(numbers.as_deref().unwrap_or(text))?;
    (utf8.is_none() || !id.json().contains('?')).then_some(id)
}

/// A copy of `bytes` with each byte that is not UTF-8 written as `?`, so
/// every byte keeps its offset; `None` when all of it is UTF-8.
pub fn mend_utf8(bytes: &[u8]) -> Option<Vec<u8>> {
    std::str::from_utf8(bytes)
        .is_err()
        .then(|| bytes.utf8_chunks().flat_map(|c| c.valid().bytes().chain(c.invalid().iter().map(|_| b'?'))).collect())
}

/// Checks everything serde's types cannot: ranges, lengths, references.
pub fn validate(raw: RawRequest) -> Result<Request, RequestError> {
    if let Some(id) = &raw.id {
        id.check().map_err(|reason| RequestError::invalid("id", reason))?;
    }
    let opts = raw.options.unwrap_or_default();
    let metric = match opts.metric.as_deref() {
        None | Some("haversine") => Metric::Haversine,
        Some("geodesic") => Metric::Geodesic,
        Some("euclidean") => Metric::Euclidean,
        Some(other) => {
            return Err(RequestError::invalid(
                "options.metric",
                format!("unknown metric {other:?} (expected haversine, geodesic or euclidean)"),
            ))
        }
    };
    let n = raw.coordinates.len();
    if n == 0 {
        return Err(RequestError::invalid("coordinates", "must hold at least one [lat, lon] point"));
    }
    if n > MAX_POINTS {
        return Err(RequestError::TooLarge { n, max: MAX_POINTS });
    }
    for (i, p) in raw.coordinates.iter().enumerate() {
        for (k, v) in p.iter().enumerate() {
            if !v.is_finite() {
                return Err(RequestError::invalid(
                    format!("coordinates[{i}][{k}]"),
                    format!("{v} is not a finite number"),
                ));
            }
        }
        if !metric.is_geographic() && p.iter().any(|v| v.abs() > MAX_PLANAR) {
            return Err(RequestError::invalid(
                format!("coordinates[{i}]"),
                format!("{p:?} is outside ±{MAX_PLANAR:e}, the planar range"),
            ));
        }
        if metric.is_geographic() {
            if !(-90.0..=90.0).contains(&p[0]) {
                return Err(RequestError::invalid(
                    format!("coordinates[{i}][0]"),
                    format!("latitude {} is outside [-90, 90]", shown(p[0])),
                ));
            }
            if !(-180.0..=180.0).contains(&p[1]) {
                return Err(RequestError::invalid(
                    format!("coordinates[{i}][1]"),
                    format!("longitude {} is outside [-180, 180]", shown(p[1])),
                ));
            }
        }
    }
    if let Some(names) = &raw.locations {
        if names.len() != n {
            return Err(RequestError::invalid(
                "locations",
                format!("has {} names but coordinates has {n} points", names.len()),
            ));
        }
    }
    let round_trip = opts.round_trip.unwrap_or(true);
    let start = opts.start.unwrap_or(0);
    if start >= n {
        return Err(RequestError::invalid("options.start", format!("{start} is out of range for {n} points")));
    }
    if let Some(end) = opts.end {
        if end >= n {
            return Err(RequestError::invalid("options.end", format!("{end} is out of range for {n} points")));
        }
        if round_trip {
            let reason = if end == start {
                "a round trip already ends at its start; leave end out".to_string()
            } else {
                format!("a round trip ends at its start ({start}); set round_trip to false for a path to {end}")
            };
            return Err(RequestError::invalid("options.end", reason));
        }
        if end == start && n > 1 {
            return Err(RequestError::invalid(
                "options.end",
                "equals options.start; a path that returns to its start is a round trip",
            ));
        }
    }
    let time_limit = match opts.time_limit_ms {
        None => None,
        Some(ms) if ms.is_finite() && (0.0..=MAX_TIME_LIMIT_MS).contains(&ms) => {
            Some(Duration::from_secs_f64(ms / 1000.0))
        }
        Some(ms) => {
            return Err(RequestError::invalid(
                "options.time_limit_ms",
                format!("{} is not a number of milliseconds in [0, {MAX_TIME_LIMIT_MS}]", shown(ms)),
            ))
        }
    };
    Ok(Request {
        id: raw.id,
        names: raw.locations,
        problem: Problem {
            points: raw.coordinates,
            metric,
            round_trip,
            start,
            end: if n > 1 { opts.end } else { None },
            time_limit,
            seed: opts.seed,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(json: &str) -> RequestError {
        match parse(json.as_bytes()) {
            Ok(_) => panic!("accepted: {json}"),
            Err(r) => r.error,
        }
    }

    fn message(json: &str) -> (String, &'static str) {
        let e = rejected(json);
        (e.to_string(), e.code())
    }

    #[test]
    fn seed_example_is_valid() {
        let r = parse(include_bytes!("../examples/seed-request.json")).unwrap();
        assert_eq!(r.problem.points.len(), 4);
        assert_eq!(r.name(0), "Chicago");
        assert!(r.problem.round_trip);
        assert_eq!(r.problem.metric, Metric::Haversine);
    }

    #[test]
    fn one_two_and_duplicate_points_are_valid() {
        for json in [
            r#"{"coordinates": [[1, 2]]}"#,
            r#"{"coordinates": [[1, 2], [3, 4]]}"#,
            r#"{"coordinates": [[1, 2], [1, 2], [1, 2]]}"#,
        ] {
            assert!(parse(json.as_bytes()).is_ok(), "{json}");
        }
    }

    #[test]
    fn invalid_json() {
        let (m, code) = message(r#"{"coordinates": [[1, 2]"#);
        assert_eq!(code, "invalid_json");
        assert!(m.starts_with("invalid JSON"), "{m}");
        let (_, code) = message(r#"{"coordinates": [[1, 2]]} trailing"#);
        assert_eq!(code, "invalid_json");
    }

    #[test]
    fn json_errors_say_where_in_the_file() {
        let text = r#"{"coordinates": [[1, 2], [3, "x"]]}"#;
        let (m, _) = message(text);
        assert!(m.ends_with(r#"expected f64 at line 1 column 32 (byte offset 31)"#), "{m}");
        // The same record on line 7 of a file, from its column 5 (byte 100).
        let at = Origin { line: 7, column: 5, byte: 100 };
        let m = parse_at(text.as_bytes(), at).unwrap_err().error.to_string();
        assert!(m.ends_with(r#"expected f64 at line 7 column 36 (byte offset 131)"#), "{m}");
        // On the record's second line the column is the file's own.
        let text = "{\"coordinates\": [[1, 2],\n [3, \"x\"]]}";
        let m = parse_at(text.as_bytes(), at).unwrap_err().error.to_string();
        assert!(m.ends_with("expected f64 at line 8 column 8 (byte offset 132)"), "{m}");
        // A syntax error, at the record's end.
        let m = parse_at(br#"{"coordinates": [[1, 2]"#, at).unwrap_err().error.to_string();
        assert!(m.ends_with("EOF while parsing a list at line 7 column 27 (byte offset 122)"), "{m}");
        // A byte-order mark inside a file is some of its bytes; one that
        // starts a whole record is not counted.
        let marked = b"\xEF\xBB\xBF{\"coordinates\": [[1, 2]";
        let m = parse_at(marked, at).unwrap_err().error.to_string();
        assert!(m.ends_with("at line 7 column 30 (byte offset 125)"), "{m}");
        let m = parse(marked).unwrap_err().error.to_string();
        assert!(m.ends_with("at line 1 column 23 (byte offset 22)"), "{m}");
    }

    #[test]
    fn an_origin_moves_past_lines_and_columns() {
        let at = Origin::START.after(b"[\n  ");
        assert_eq!(at, Origin { line: 2, column: 3, byte: 4 });
        assert_eq!(at.after(b"{}, "), Origin { line: 2, column: 7, byte: 8 });
        assert_eq!(at.after(b"{},\n\n"), Origin { line: 4, column: 1, byte: 9 });
        assert_eq!(at.after(b""), at);
    }

    #[test]
    fn wrong_types_name_the_field() {
        let (m, code) = message(r#"{"coordinates": [[1, 2], [3, "x"]]}"#);
        assert_eq!(code, "invalid_request");
        assert!(m.starts_with("coordinates[1][1]: invalid type: string"), "{m}");
        let (m, _) = message(r#"{"coordinates": [[1, 2, 3]]}"#);
        assert_eq!(m, "coordinates[0]: expected [lat, lon], an array of two numbers");
        let (m, _) = message(r#"{"coordinates": [[1]]}"#);
        assert!(m.starts_with("coordinates[0]: invalid length 1"), "{m}");
        let (m, _) = message(r#"{"locations": "Chicago", "coordinates": [[1, 2]]}"#);
        assert!(m.starts_with("locations: invalid type: string"), "{m}");
        let (m, _) = message(r#"{"coordinates": [[1, 2]], "options": {"round_trip": "yes"}}"#);
        assert!(m.starts_with("options.round_trip: invalid type"), "{m}");
        let (m, _) = message(r#"[1, 2]"#);
        assert_eq!(m, "request: expected a JSON object, found an array");
        let (_, code) = message("");
        assert_eq!(code, "invalid_json");
        let (m, _) = message(r#"{"coordinates": [[1, 2]], "id": [1]}"#);
        assert_eq!(m, "id: must be a string or a number");
    }

    #[test]
    fn missing_coordinates() {
        let (m, _) = message(r#"{"locations": ["a"]}"#);
        assert!(m.starts_with("request: missing field `coordinates`"), "{m}");
    }

    #[test]
    fn not_finite() {
        // JSON has no NaN or infinity; the library entry point can still get them.
        let raw = RawRequest { locations: None, coordinates: vec![[f64::NAN, 0.0]], id: None, options: None };
        assert_eq!(validate(raw).unwrap_err().to_string(), "coordinates[0][0]: NaN is not a finite number");
        let raw = RawRequest { locations: None, coordinates: vec![[0.0, f64::INFINITY]], id: None, options: None };
        assert_eq!(validate(raw).unwrap_err().to_string(), "coordinates[0][1]: inf is not a finite number");
        // A literal too large for f64 is refused as it is read, with its field.
        let (m, code) = message(r#"{"coordinates": [[1e999, 0]]}"#);
        assert_eq!(code, "invalid_request");
        assert!(m.starts_with("coordinates[0][0]: number out of range at line 1"), "{m}");
        let (m, _) = message(r#"{"coordinates": [[1, 2]], "options": {"time_limit_ms": 1e400}}"#);
        assert!(m.starts_with("options.time_limit_ms: number out of range"), "{m}");
        // A lone surrogate, low or high (serde_json words the two differently).
        for name in [r#""\udc00""#, r#""\ud800""#, r#""\ud800\n""#] {
            let (m, code) = message(&format!(r#"{{"locations": [{name}], "coordinates": [[1, 2]]}}"#));
            assert_eq!(code, "invalid_request", "{name}: {m}");
            assert!(m.starts_with("locations[0]: "), "{name}: {m}");
        }
        // NaN and Infinity as Python's json.dumps writes them: not JSON, but
        // the field is named, and so is where it is; the id is still read.
        for (record, field, literal, column) in [
            (r#"{"id": 7, "coordinates": [[NaN, 2], [3, 4]]}"#, "coordinates[0][0]", "NaN", 28),
            (r#"{"coordinates": [[1, 2], [3, -Infinity]], "id": 7}"#, "coordinates[1][1]", "-Infinity", 30),
            (r#"{"id": 7, "coordinates": [[1, 2]], "options": {"seed": Infinity}}"#, "options.seed", "Infinity", 56),
            (r#"{"id": NaN, "coordinates": [[1, 2]]}"#, "id", "NaN", 8),
        ] {
            let r = parse(record.as_bytes()).unwrap_err();
            let expect = format!(
                "{field}: {literal} is not a number JSON allows at line 1 column {column} (byte offset {})",
                column - 1
            );
            assert_eq!((r.error.code(), r.error.to_string()), ("invalid_request", expect), "{record}");
            assert_eq!(r.id.as_ref().map(Id::json), (field != "id").then_some("7"), "{record}");
        }
        // Where the JSON breaks before them, it is still invalid JSON; in a
        // string or inside a word they are not those numbers.
        for (record, code) in [
            (r#"{"id": 7, "coordinates": [[1, 2]], [NaN]}"#, "invalid_json"),
            (r#"{"id": 7, NaN}"#, "invalid_json"),
            (r#"{"coordinates": [[1, 2]] NaN}"#, "invalid_json"),
            (r#"{"coordinates": [[1, NaN]], "id": 7"#, "invalid_json"),
            (r#"{"id": 7, "coordinates": [[1, NaNa]]}"#, "invalid_json"),
            (r#"{"id": 7, "coordinates": [[1, xNaN]]}"#, "invalid_json"),
        ] {
            assert_eq!(parse(record.as_bytes()).unwrap_err().error.code(), code, "{record}");
        }
        let r = parse(br#"{"locations": ["NaN", "\" Infinity"], "coordinates": [[1, 2], [3, 4]]}"#).unwrap();
        assert_eq!(r.names.unwrap(), ["NaN", "\" Infinity"]);

        // A record that is JSON but not an object, even one no tree holds.
        for (record, kind) in
            [("42", "a number"), ("1e400", "a number"), ("[1e400]", "an array"), (r#""\ud800""#, "a string")]
        {
            let (m, code) = message(record);
            assert_eq!(
                (code, m.as_str()),
                ("invalid_request", format!("request: expected a JSON object, found {kind}").as_str())
            );
        }
        // Broken JSON is still invalid JSON, even where a value in it could
        // not be held before it broke.
        for broken in [
            r#"{"coordinates": [[1e5, 0]"#,
            r#"{"coordinates": [[1e400, 0]"#,
            r#"{"coordinates": [[0, 0]], "locations": ["\ud800x"#,
            r#"{"coordinates": [[0, 0]], "locations": ["\ud800\x"]}"#,
            "[1e400",
            "1e400 x",
            r#""\ud800x"#,
        ] {
            let (m, code) = message(broken);
            assert_eq!(code, "invalid_json", "{broken}: {m}");
            // Where it breaks, not where a value could not be held.
            assert!(!m.contains("out of range") && !m.contains("hex escape"), "{broken}: {m}");
        }
    }

    #[test]
    fn latitude_and_longitude_ranges() {
        let (m, _) = message(r#"{"coordinates": [[0, 0], [1, 1], [91, 0]]}"#);
        assert_eq!(m, "coordinates[2][0]: latitude 91 is outside [-90, 90]");
        let (m, _) = message(r#"{"coordinates": [[0, -180.5]]}"#);
        assert_eq!(m, "coordinates[0][1]: longitude -180.5 is outside [-180, 180]");
        let (m, _) = message(r#"{"coordinates": [[1e308, 0]]}"#);
        assert_eq!(m, "coordinates[0][0]: latitude 1e308 is outside [-90, 90]");
        let (m, _) = message(r#"{"coordinates": [[0, 0]], "options": {"time_limit_ms": -1e-300}}"#);
        assert_eq!(m, "options.time_limit_ms: -1e-300 is not a number of milliseconds in [0, 3600000]");
        // Planar data has no such range.
        assert!(parse(br#"{"coordinates": [[500, 900]], "options": {"metric": "euclidean"}}"#).is_ok());
    }

    #[test]
    fn length_mismatch() {
        let (m, _) = message(r#"{"locations": ["a", "b"], "coordinates": [[0, 0]]}"#);
        assert_eq!(m, "locations: has 2 names but coordinates has 1 points");
    }

    #[test]
    fn zero_points() {
        let (m, _) = message(r#"{"coordinates": []}"#);
        assert_eq!(m, "coordinates: must hold at least one [lat, lon] point");
    }

    #[test]
    fn start_and_end_out_of_range() {
        let (m, _) = message(r#"{"coordinates": [[0, 0], [1, 1]], "options": {"start": 2}}"#);
        assert_eq!(m, "options.start: 2 is out of range for 2 points");
        let (m, _) = message(r#"{"coordinates": [[0, 0], [1, 1]], "options": {"round_trip": false, "end": 5}}"#);
        assert_eq!(m, "options.end: 5 is out of range for 2 points");
        let (m, _) = message(r#"{"coordinates": [[0, 0], [1, 1]], "options": {"start": -1}}"#);
        assert!(m.starts_with("options.start: -1 is negative; expected a whole number from 0 to "), "{m}");
        let (m, _) = message(r#"{"coordinates": [[0, 0], [1, 1]], "options": {"end": 1}}"#);
        assert_eq!(m, "options.end: a round trip ends at its start (0); set round_trip to false for a path to 1");
        let (m, _) = message(r#"{"coordinates": [[0, 0], [1, 1]], "options": {"end": 0}}"#);
        assert_eq!(m, "options.end: a round trip already ends at its start; leave end out");
        let (m, _) = message(r#"{"coordinates": [[0, 0], [1, 1]], "options": {"round_trip": false, "end": 0}}"#);
        assert!(m.starts_with("options.end: equals options.start"), "{m}");
    }

    #[test]
    fn options_are_an_object_or_null() {
        let (m, _) = message(r#"{"coordinates": [[0, 0], [1, 1]], "options": [false, 1, 0, "geodesic", 5, 9]}"#);
        assert!(m.starts_with("options: invalid type: sequence, expected an object"), "{m}");
        let (m, _) = message(r#"{"coordinates": [[0, 0]], "options": []}"#);
        assert!(m.starts_with("options: invalid type: sequence, expected an object"), "{m}");
        let r = parse(br#"{"coordinates": [[0, 0], [1, 1]], "options": null}"#).expect("null options");
        assert!(r.problem.round_trip);
        let r = parse(br#"{"coordinates": [[0, 0], [1, 1]], "options": {"start": 1}}"#).expect("an object");
        assert_eq!(r.problem.start, 1);
        let (m, _) = message(r#"{"coordinates": [[0, 0]], "options": {"speed": 1}}"#);
        assert!(m.starts_with("options.speed: unknown field"), "{m}");
    }

    #[test]
    fn unknown_metric_and_options() {
        let (m, _) = message(r#"{"coordinates": [[0, 0]], "options": {"metric": "manhattan"}}"#);
        assert_eq!(m, r#"options.metric: unknown metric "manhattan" (expected haversine, geodesic or euclidean)"#);
        let (m, _) = message(r#"{"coordinates": [[0, 0]], "options": {"roundtrip": true}}"#);
        assert!(m.starts_with("options.roundtrip: unknown field `roundtrip`, expected one of"), "{m}");
        let (m, code) = message(r#"{"coordinates": [[0, 0]], "stops": 3}"#);
        assert_eq!(code, "invalid_request");
        assert!(m.starts_with("stops: unknown field `stops`, expected one of"), "{m}");
        let (m, _) = message(r#"{"coordinates": [[0, 0]], "options": {"time_limit_ms": -5}}"#);
        assert_eq!(m, "options.time_limit_ms: -5 is not a number of milliseconds in [0, 3600000]");
        let (m, _) = message(r#"{"coordinates": [[0, 0]], "options": {"time_limit_ms": 1e300}}"#);
        assert_eq!(m, "options.time_limit_ms: 1e300 is not a number of milliseconds in [0, 3600000]");
    }

    /// Messages that quote the client's text quote at most about 1 KB of
    /// it, keeping the field, the reason and where: a record of 600 KB
    /// once got a message of 1.2 MB, and on a stream a `too_large` error
    /// about a "prediction" instead.
    #[test]
    fn long_quoted_input_is_cut_from_messages() {
        let long = "é".repeat(300_000);
        let cases = [
            (format!(r#"{{"coordinates": [[0, 0]], "{long}": 1}}"#), "unknown field `éé"),
            (format!(r#"{{"coordinates": [[0, 0]], "options": {{"metric": "{long}"}}}}"#), "unknown metric \"éé"),
            (format!(r#"{{"coordinates": [[0, "{long}"]]}}"#), "invalid type: string \"éé"),
        ];
        for (json, reason) in cases {
            let (m, code) = message(&json);
            assert_eq!(code, "invalid_request");
            assert!(m.len() <= FIELD_MAX + 2 + REASON_MAX + 40, "{} bytes", m.len());
            assert!(m.contains(reason) && m.contains(" bytes]…"), "{m}");
        }
        let (m, _) = message(&format!(r#"{{"coordinates": [[0, 0]], "{long}": 1}}"#));
        assert!(m.starts_with("éé") && m.contains("é: unknown field `éé"), "{m}");
        assert!(m.contains("expected one of") && m.contains(" (byte offset "), "{m}");
        let (m, _) = message(&format!(r#"{{"coordinates": [[0, "{long}"]]}}"#));
        assert!(m.starts_with("coordinates[0][1]: invalid type: string"), "{m}");
        let text = "0123456789".repeat(5);
        assert_eq!(clipped(text.clone(), 18), text, "cutting 32 bytes would save nothing");
        assert_eq!(clipped(text, 10), "01234…[40 bytes]…56789");
    }

    #[test]
    fn too_many_points() {
        let raw = |n| RawRequest { locations: None, coordinates: vec![[1.0, 2.0]; n], id: None, options: None };
        assert!(validate(raw(MAX_POINTS)).is_ok());
        let Err(e) = validate(raw(MAX_POINTS + 1)) else { panic!("{} points accepted", MAX_POINTS + 1) };
        assert_eq!(e.code(), "too_large");
        assert_eq!(e.to_string(), format!("coordinates: {} points exceed the limit of {MAX_POINTS}", MAX_POINTS + 1));
    }

    #[test]
    fn ids_and_planar_ranges_are_bounded() {
        let long = "x".repeat(MAX_ID_BYTES + 1);
        let r = parse(format!(r#"{{"id": "{long}", "coordinates": [[0, 0]]}}"#).as_bytes()).unwrap_err();
        assert_eq!(r.error.to_string(), "id: longer than 256 bytes");
        assert_eq!(r.id, None, "a long id is not echoed");
        let r = parse(br#"{"id": [1], "coordinates": [[0, 0]]}"#).unwrap_err();
        assert_eq!(r.id, None, "an array id is not echoed");
        let (m, _) = message(r#"{"coordinates": [[0, 1e200]], "options": {"metric": "euclidean"}}"#);
        assert!(m.starts_with("coordinates[0]: [0.0, 1e200] is outside"), "{m}");
    }

    #[test]
    fn rejection_keeps_the_id() {
        let r = parse(br#"{"id": "abc", "coordinates": [[95, 0]]}"#).unwrap_err();
        assert_eq!(r.id.as_ref().map(Id::json), Some(r#""abc""#));
        let r = parse(br#"{"id": 7, "coordinates": "x"}"#).unwrap_err();
        assert_eq!(r.id.as_ref().map(Id::json), Some("7"));
    }

    /// Ids come back as the text they came in, also numbers that f64 would
    /// round; only strings and numbers are ids.
    #[test]
    fn ids_are_echoed_exactly() {
        for id in ["12345678901234567890123", "-0.123456789012345678901", "-0", "1E300", r#""a\"b""#, r#""\u00e9""#] {
            let r = parse(format!(r#"{{"id": {id}, "coordinates": [[0, 0]]}}"#).as_bytes()).unwrap();
            assert_eq!(r.id.as_ref().map(Id::json), Some(id));
            let r = parse(format!(r#"{{"id": {id}, "coordinates": [[95, 0]]}}"#).as_bytes()).unwrap_err();
            assert_eq!(r.id.as_ref().map(Id::json), Some(id), "rejected");
            let r = parse(format!(r#"{{"coordinates": [[0, 0]], "id": {id}, "x": 1}}"#).as_bytes()).unwrap_err();
            assert_eq!(r.id.as_ref().map(Id::json), Some(id), "rejected before validation");
        }
        assert_eq!(parse(br#"{"id": null, "coordinates": [[0, 0]]}"#).unwrap().id, None);
        let long_number = format!("1{}", "0".repeat(MAX_ID_BYTES));
        for (id, reason) in [
            ("true", "must be a string or a number"),
            ("{}", "must be a string or a number"),
            ("[]", "must be a string or a number"),
            ("1E400", "1E400 is beyond the range of f64; send it as a string"),
            (&long_number, "a number longer than 256 characters"),
            // A lone surrogate: serde_json's reason follows.
            (r#""\ud800x""#, "not a valid string: "),
        ] {
            let r = parse(format!(r#"{{"id": {id}, "coordinates": [[0, 0]]}}"#).as_bytes()).unwrap_err();
            assert!(r.error.to_string().starts_with(&format!("id: {reason}")), "{id}: {}", r.error);
            // No line and column: serde_json's would count from the id.
            assert!(!r.error.to_string().contains(" at line "), "{id}: {}", r.error);
            assert_eq!(r.id, None, "{id} is not echoed");
        }
        // 256 bytes unescaped (128 two-byte characters written as escapes),
        // then 258.
        let id = |chars: usize| format!(r#"{{"id": "{}", "coordinates": [[0, 0]]}}"#, "\\u00e9".repeat(chars));
        assert!(parse(id(MAX_ID_BYTES / 2).as_bytes()).is_ok());
        let r = parse(id(MAX_ID_BYTES / 2 + 1).as_bytes()).unwrap_err();
        assert_eq!((r.error.to_string().as_str(), r.id), ("id: longer than 256 bytes", None));
    }

    /// A key that is not UTF-8 names the object that holds it; the id is
    /// still read, unless it may hold one of the stray bytes itself.
    #[test]
    fn keys_that_are_not_utf8_name_their_object() {
        for (record, message) in [
            (
                &b"{\"id\": 2, \"caf\xe9\": 1, \"coordinates\": [[1, 2]]}"[..],
                "request: a field name: invalid unicode code point at line 1 column 15 (byte offset 14)",
            ),
            (
                b"{\"coordinates\": [[1, 2]], \"options\": {\"se\xffd\": 1}, \"id\": 2}",
                "options: a field name: invalid unicode code point at line 1 column 42 (byte offset 41)",
            ),
        ] {
            let r = parse(record).unwrap_err();
            assert_eq!((r.error.code(), r.error.to_string().as_str()), ("invalid_request", message));
            assert_eq!(r.id.as_ref().map(Id::json), Some("2"));
        }
        let r = parse(b"{\"id\": \"a\xff?\", \"x\xff\": 1, \"coordinates\": [[1, 2]]}").unwrap_err();
        assert!(r.error.to_string().starts_with("id: "), "{}", r.error);
        assert_eq!(r.id, None);
        let r = parse(b"{\"x\xff\": 1, \"id\": \"a?\", \"coordinates\": [[1, 2]]}").unwrap_err();
        assert_eq!(r.id, None, "a ? may be a stray byte");
    }

    /// Only the literals outside strings are mended, each to as many bytes.
    #[test]
    fn non_json_numbers_are_mended_in_place() {
        let text = br#"[NaN,-Infinity, {"a\"NaN": "Infinity", "b": Infinity}, NaNa, 1]"#;
        let mended = mend_non_json_numbers(text).expect("some to mend");
        assert_eq!(mended.len(), text.len());
        assert_eq!(
            String::from_utf8(mended).unwrap(),
            r#"[[] ,[]       , {"a\"NaN": "Infinity", "b": []      }, NaNa, 1]"#
        );
        assert_eq!(mend_non_json_numbers(br#"{"NaN": ["Infinity"], "x": 1}"#), None);
    }

    #[test]
    fn options_are_applied() {
        let r = parse(
            br#"{"id": "x", "coordinates": [[0, 0], [1, 1], [2, 2]],
                 "options": {"round_trip": false, "start": 1, "end": 2, "metric": "geodesic", "time_limit_ms": 250, "seed": 9}}"#,
        )
        .unwrap();
        let p = &r.problem;
        assert_eq!((p.round_trip, p.start, p.end, p.metric, p.seed), (false, 1, Some(2), Metric::Geodesic, Some(9)));
        assert_eq!(p.time_limit, Some(Duration::from_millis(250)));
        assert_eq!(r.id.as_ref().map(Id::json), Some(r#""x""#));
    }

    /// `start`, `end` and `seed` are whole numbers: also written as floats
    /// (`1.0`) below 2^53, and the refusals speak of the value, not of u64.
    #[test]
    fn whole_number_options() {
        let with = |opts: &str| {
            parse(format!(r#"{{"coordinates": [[0, 0], [1, 1], [2, 2]], "options": {{{opts}}}}}"#).as_bytes())
        };
        let r = with(r#""round_trip": false, "start": 1.0, "end": 2e0, "seed": 18446744073709551615"#).unwrap();
        assert_eq!((r.problem.start, r.problem.end, r.problem.seed), (1, Some(2), Some(u64::MAX)));
        let r = with(r#""start": -0.0, "end": null, "seed": 9007199254740991.0"#).unwrap();
        assert_eq!((r.problem.start, r.problem.end, r.problem.seed), (0, None, Some((1 << 53) - 1)));
        let (seed, index) = (u64::MAX, usize::MAX);
        let not_exact = "as a float is not exact from 2^53 on: write the whole number without a point or exponent";
        for (opts, field, reason) in [
            (
                r#""seed": 18446744073709551616"#,
                "seed",
                format!("1.8446744073709552e19 is too large; expected a whole number from 0 to {seed}"),
            ),
            (r#""seed": -1"#, "seed", format!("-1 is negative; expected a whole number from 0 to {seed}")),
            (r#""start": -2.0"#, "start", format!("-2 is negative; expected a whole number from 0 to {index}")),
            (r#""end": 1.5"#, "end", format!("1.5 is not whole; expected a whole number from 0 to {index}")),
            (r#""end": 1e-300"#, "end", format!("1e-300 is not whole; expected a whole number from 0 to {index}")),
            (r#""start": -1e300"#, "start", format!("-1e300 is negative; expected a whole number from 0 to {index}")),
            (r#""start": 1e20"#, "start", format!("1e20 is too large; expected a whole number from 0 to {index}")),
            (r#""seed": 1e19"#, "seed", format!("1e19 {not_exact}")),
            // 2^53 + 1 reads as 2^53: refused rather than taken as another seed.
            (r#""seed": 9007199254740993.0"#, "seed", format!("9007199254740992 {not_exact}")),
            (r#""seed": "5""#, "seed", r#"invalid type: string "5", expected a whole number"#.into()),
        ] {
            let Err(Rejected { error: RequestError::Invalid { field: f, reason: r }, .. }) = with(opts) else {
                panic!("accepted: {opts}")
            };
            assert_eq!(f, format!("options.{field}"), "{opts}");
            assert!(r.starts_with(&format!("{reason} at line 1 column ")), "{opts}: {r}");
        }
    }
}
