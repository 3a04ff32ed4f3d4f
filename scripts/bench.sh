#!/usr/bin/env bash
# Reproduces the numbers in BENCHMARKS.md. Not part of the tests: it takes
# about 20 minutes on 2 cores. Run it on a quiet machine.
#   scripts/bench.sh [tsplib|requests|clustered|large|lambda_start|worker|kernels|peers]...
# (default: all but peers, which installs two Python packages from PyPI)
set -euo pipefail
cd "$(dirname "$0")/.."
TSP=${TSPLIB_DIR:-../shared/tsplib}
cargo build --release --locked --quiet
B=target/release/route-optim
echo "# $(date -u +%F) $(nproc) cores,$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), $($B solve examples/seed-request.json | grep -o '"backend": "[^"]*"')"

tsplib() {
  echo "## TSPLIB, n <= 1002, 1 s each"; $B bench tsplib "$TSP" --time-limit 1 --max-n 1002
  echo "## TSPLIB, n <= 1002, 100 ms each"; $B bench tsplib "$TSP" --time-limit 0.1 --max-n 1002
  echo "## fnl4461, 4 s"; $B bench tsplib "$TSP" --time-limit 4 --only fnl4461
  echo "## usa13509, 15 s"; $B bench tsplib "$TSP" --time-limit 15 --only usa13509
}

# Random requests (uniform over the contiguous US), NDJSON in and out through
# `solve`, default budget. Quality: the first 1000, solved with the default
# seed (in the timed run) and with seeds 1 to 4, against the best of long
# runs of the same requests (explicit time limit: no stagnation stop) and of
# those five. One seed's count moves by about 0.3 points from seed to seed.
requests() {
  local w; w=$(mktemp -d)
  for spec in 10:100000:0 20:50000:0.05 50:20000:0.2 100:10000:0.5; do
    IFS=: read -r n count long <<<"$spec"
    $B gen --n "$n" --count "$count" --seed "$n" > "$w/r.ndjson"
    local t0 t1; t0=$(date +%s.%N); $B solve "$w/r.ndjson" > "$w/o.ndjson"; t1=$(date +%s.%N)
    head -1000 "$w/r.ndjson" > "$w/q.ndjson"
    for s in 1 2 3 4; do $B solve "$w/q.ndjson" --seed "$s" > "$w/s$s.ndjson"; done
    if [ "$long" != 0 ]; then $B solve "$w/q.ndjson" --time-limit "$long" > "$w/l.ndjson"; else cp "$w/o.ndjson" "$w/l.ndjson"; fi
    python3 - "$n" "$count" "$t0" "$t1" "$w/o.ndjson" "$w/l.ndjson" "$w"/s?.ndjson <<'PY'
import json, sys
n, count, t0, t1, out, long, *seeded = sys.argv[1:]
rate = int(count) / (float(t1) - float(t0))
outs = [json.loads(l) for l in open(out)]
ref = {d["id"]: d["distance_km"] for d in map(json.loads, open(long))}
seeded = [[json.loads(l) for l in open(f)] for f in seeded]
first = {d["id"] for d in seeded[0]}
runs = [[d for d in outs if d["id"] in first]] + seeded
for run in runs:
    for d in run:
        ref[d["id"]] = min(ref[d["id"]], d["distance_km"])
hits = [sum(d["distance_km"] <= ref[d["id"]] * (1 + 1e-9) for d in run) for run in runs]
gaps = [100 * (d["distance_km"] / ref[d["id"]] - 1) for run in runs for d in run]
proved = sum(d["optimal"] for d in outs)
print(f"{n:>4} stops: {rate:9.0f} requests/s ({count} requests), proved optimal {proved}/{len(outs)}, "
      f"at best known {100 * sum(hits) / len(gaps):.2f}% (default seed {hits[0]}/{len(runs[0])}, "
      f"seeds 1-4 {'/'.join(map(str, hits[1:]))}), mean gap {sum(gaps)/len(gaps):.4f}%, worst {max(gaps):.3f}%")
PY
  done
  rm -rf "$w"
}

# Clustered requests (`gen --clustered`: sqrt(n) centres, stops spread by 1%
# of the box), default budget, against the better of that run and a long one
# (explicit time limit) of the same requests: 240 and 1000 stops in a city,
# 100 over the US (BENCHMARKS.md, "Clustered stops").
clustered() {
  local w; w=$(mktemp -d)
  local city=41.8,-87.7,41.89,-87.58
  for spec in "240:200:5:1:$city" "100:300:6:0.5:25,-124,49,-67" "1000:20:7:4:$city"; do
    IFS=: read -r n count seed long bbox <<<"$spec"
    $B gen --clustered --n "$n" --count "$count" --seed "$seed" --bbox "$bbox" > "$w/r.ndjson"
    local t0 t1; t0=$(date +%s.%N); $B solve "$w/r.ndjson" > "$w/o.ndjson"; t1=$(date +%s.%N)
    $B solve "$w/r.ndjson" --time-limit "$long" > "$w/l.ndjson"
    python3 - "$n" "$count" "$long" "$t0" "$t1" "$w/o.ndjson" "$w/l.ndjson" <<'PY'
import json, sys
n, count, long, t0, t1, out, lng = sys.argv[1:]
runs = [[json.loads(l) for l in open(f)] for f in (out, lng)]
ref = {d["id"]: min(r[k]["distance_km"] for r in runs) for k, d in enumerate(runs[0])}
for name, run in zip(("default", f"--time-limit {long}"), runs):
    gaps = [100 * (d["distance_km"] / ref[d["id"]] - 1) for d in run]
    print(f"{n:>5} clustered stops, {count} requests, {name}: at best known {sum(g <= 1e-7 for g in gaps)}, "
          f"mean gap {sum(gaps) / len(gaps):.3f}%, worst {max(gaps):.2f}%, over 1% {sum(g > 1 for g in gaps)}")
print(f"      default run: {float(t1) - float(t0):.2f} s")
PY
  done
  rm -rf "$w"
}

# Two published solvers (LKH, fast_tsp) beside route-optim on the first 1000
# requests of `requests` at 50 and 100 stops, one request at a time on one
# core; best known as in `requests` (scripts/peers.py).
peers() {
  local w; w=$(mktemp -d)
  python3 -m venv "$w/venv" && "$w/venv/bin/pip" install --quiet elkai==2.0.1 fast-tsp==0.2.2
  for spec in 50:0.2 100:0.5; do
    IFS=: read -r n long <<<"$spec"
    $B gen --n "$n" --count 1000 --seed "$n" > "$w/q.ndjson"
    $B solve "$w/q.ndjson" --time-limit "$long" > "$w/l.ndjson"
    for s in 1 2 3 4; do $B solve "$w/q.ndjson" --seed "$s" > "$w/s$s.ndjson"; done
    local t0 t1; t0=$(date +%s.%N); RAYON_NUM_THREADS=1 $B solve "$w/q.ndjson" > "$w/o.ndjson"; t1=$(date +%s.%N)
    "$w/venv/bin/python" scripts/peers.py "$w/q.ndjson" "$w/o.ndjson" "$(python3 -c "print($t1 - $t0)")" "$w/l.ndjson" "$w"/s?.ndjson
  done
  rm -rf "$w"
}

# Process start to first response through the runtime emulator: the seed's
# request as a one-record Kinesis event, posted while the process starts.
lambda_start() {
  # shellcheck source=scripts/services.sh
  source scripts/services.sh
  trap stop_services RETURN
  start_emulators
  local event; event=$(python3 -c '
import base64, json
data = base64.b64encode(open("examples/seed-request.json", "rb").read()).decode()
print(json.dumps({"Records": [{"kinesis": {"partitionKey": "1", "sequenceNumber": "1", "data": data,
  "approximateArrivalTimestamp": 1.7e9, "kinesisSchemaVersion": "1.0"}, "eventSource": "aws:kinesis",
  "eventID": "shardId-000000000000:1", "eventSourceARN": "arn:aws:kinesis:us-east-1:000000000000:stream/requests"}]}))')
  for _ in 1 2 3 4 5; do
    local t0 t1; t0=$(date +%s%N)
    start_function
    curl -sf -XPOST http://127.0.0.1:9100/2015-03-31/functions/_/invocations -d "$event" > /dev/null
    t1=$(date +%s%N)
    kill "$E2E_FUNCTION_PID"; wait "$E2E_FUNCTION_PID" 2>/dev/null || true
    echo "process start to first response: $(( (t1 - t0) / 1000000 )) ms"
  done
}

# One worker on 20-stop requests through kinesis-mock, beside the emulator's
# own read and write ceilings (tests/worker.rs, bench_worker_throughput).
worker() {
  # shellcheck source=scripts/services.sh
  source scripts/services.sh
  trap stop_services RETURN
  start_emulators
  export REQUIRE_E2E=1 E2E_LAMBDA_URL=unused E2E_PROXY_URL=unused
  cargo test --release --locked --test worker -- --ignored --nocapture bench_worker_throughput 2>&1 | grep "^worker:"
}

# Large instances through `solve` on JSON files, with wall time and peak
# memory from /usr/bin/time -v: pla85900 (CEIL_2D) at 60 s against its
# optimum; 10^6 points uniform in a square at 5 minutes against the
# Beardwood–Halton–Hammersley estimate 0.7124·√(n·A); the same with no
# kicks (construction and local search only).
large() {
  local w; w=$(mktemp -d)
  run_timed() { /usr/bin/time -v "$@" 2> "$w/time"; grep -E "Elapsed|Maximum resident" "$w/time" | sed 's/^\t*/    /' >&2; }
  gap() {
    python3 - "$@" <<'PY'
import json, sys
what, path = sys.argv[1:]
d = json.load(open(path))
if what == "pla85900":
    print(f"pla85900: length {d['length']}, gap {100 * (d['length'] / 142382641 - 1):.3f}%, kicks {d['solver']['kicks']}")
else:
    bhh = 0.7124 * (1e6 * 1e12) ** 0.5
    print(f"10^6 points: length {d['distance_km']:.0f}, {100 * (d['distance_km'] / bhh - 1):.3f}% above BHH")
PY
  }
  echo "## pla85900, 60 s"
  run_timed $B solve "$TSP/pla85900.tsp" --time-limit 60 > "$w/out.json"
  gap pla85900 "$w/out.json"
  $B gen --n 1000000 --plane 1000000 --seed 1 > "$w/u1m.json"
  for budget in "--iterations 0" "--time-limit 300"; do
    echo "## 10^6 uniform points in a 10^6 square, $budget"
    # shellcheck disable=SC2086
    run_timed $B solve "$w/u1m.json" $budget > "$w/out.json"
    gap uniform "$w/out.json"
  done
  rm -rf "$w"
}

kernels() { cargo bench --locked --bench kernels 2>&1 | grep -E "^[a-z_]+/|time:|thrpt:" | grep -v "%"; }

for part in "${@:-tsplib requests clustered large lambda_start worker kernels}"; do
  for p in $part; do "$p"; done
done
