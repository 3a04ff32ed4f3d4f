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
echo "== 10,000 x 100 stops, lat/lon, engine default rounds"
timeout 150 $R bench batch --stops 100 --count 10000 --reference 1000 --backend gpu
echo "== 10,000 x 100 stops, unit square"
timeout 150 $R bench batch --stops 100 --count 10000 --reference 1000 --backend gpu --plane
for it in 100 300 1000; do
  echo "== 10,000 x 100 stops, unit square, $it rounds"
  timeout 100 $R bench batch --stops 100 --count 10000 --reference 1000 --backend gpu --plane --iterations $it
done
echo "== CPU, 2,000 x 100 stops (engine default)"
timeout 100 $R bench batch --stops 100 --count 2000 --reference 0 --backend cpu --plane
echo "== crossover: batch size, GPU vs CPU, 20 stops, default budgets"
for c in 16 64 256 1024; do
  for b in gpu cpu; do timeout 60 $R bench batch --stops 20 --count $c --reference 0 --backend $b; done
done
echo "== 10^6 uniform points: construction + local search, then 60 s, CPU vs the GPU's 2-opt descent"
$R gen --n 1000000 --plane 1000000 --seed 1 > /tmp/million.json
for limit in "--iterations 0" "--time-limit 60"; do
  for b in cpu gpu; do
    echo "-- $b $limit"
    RUST_LOG=route_optim=debug /usr/bin/time -f "%e s wall, %M KB" timeout 120 $R solve /tmp/million.json $limit --backend $b \
      | grep -E '^  "distance_km"|^    "(backend|ms)"'
  done
done
echo "== criterion: matrices and batches by backend"
timeout 200 $KERNELS --bench 'gpu_' --noplot
