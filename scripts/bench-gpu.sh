#!/usr/bin/env bash
# GPU benchmarks in one run, for a machine with a real GPU (see
# BENCHMARKS.md, "GPU"). Uses BIN_DIR/route-optim and BIN_DIR/kernels (the
# stripped `cargo bench --bench kernels --no-run` binary) when given, so that
# a machine without a Rust toolchain can run it; builds them otherwise.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN_DIR=${BIN_DIR:-}
if [ -z "$BIN_DIR" ]; then
  cargo build --release --locked --bin route-optim
  cargo bench --bench kernels --no-run
  BIN_DIR=target/release
  KERNELS=$(ls -t target/release/deps/kernels-* | grep -v '\.d$' | head -1)
else
  KERNELS=$BIN_DIR/kernels
fi
R=$BIN_DIR/route-optim
echo "== $(date -u +%FT%TZ) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null
echo "== info"; $R info
P="--stops 100 --count 10000 --reference 1000 --backend gpu"
echo "== 10,000 x 100 stops, unit square, by rounds, then the engine's default budget"
for it in 500 800 1000 2000; do
  echo "-- $it rounds"; timeout 100 $R bench batch $P --plane --iterations $it
done
echo "-- default"; timeout 150 $R bench batch $P --plane
echo "== 10,000 x 100 stops, lat/lon (haversine): 800 rounds, default"
timeout 100 $R bench batch $P --iterations 800
timeout 150 $R bench batch $P
echo "== CPU, 2,000 x 100 stops, unit square (engine default)"
timeout 100 $R bench batch --stops 100 --count 2000 --reference 1000 --backend cpu --plane
echo "== batch size: GPU vs CPU with quality, default budgets"
for s in 20 50 100; do
  for c in 1024 4096; do
    for b in gpu cpu; do timeout 60 $R bench batch --stops $s --count $c --reference 1000 --backend $b; done
  done
done
echo "== large round trips: CPU vs the automatic engine (GPU 2-opt descent first on a real GPU)"
for n in 200000 1000000; do
  $R gen --n $n --plane 1000000 --seed 1 > /tmp/p$n.json
  for limit in "--iterations 0" "--time-limit 30"; do
    for b in "--backend cpu" ""; do
      echo "-- n=$n $limit ${b:-automatic}"
      RUST_LOG=route_optim=debug /usr/bin/time -f "%e s wall, %M KB" timeout 120 $R solve /tmp/p$n.json $limit $b 2>&1 \
        | grep -E '^  "distance_km"|^    "(backend|ms)"|descent|local search from|iterated|wall'
    done
  done
done
echo "== criterion: matrices and batches by backend"
timeout 200 $KERNELS --bench 'gpu_' --noplot
