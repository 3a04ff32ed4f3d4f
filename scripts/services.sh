# Sourced by scripts/test.sh: installs and starts the real components the
# end-to-end tests use, all on loopback, and exports where they are.
#   kinesis-mock (npm kinesis-local, the emulator LocalStack uses) on :4568
#   tests/support/throttle_proxy.py in front of it on :4569 (10% of PutRecords entries throttled)
#   cargo lambda watch --only-lambda-apis (the Lambda runtime API emulator) on :9100
#   route-optim lambda, polling that runtime API, writing to the `predictions` stream
# Everything installed goes under target/e2e (ignored by git, rebuilt when missing).

E2E=${E2E_DIR:-$PWD/target/e2e}
E2E_PIDS=()

stop_services() {
  for pid in "${E2E_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}

wait_for() { # NAME CHECK-COMMAND...
  local name=$1; shift
  for _ in $(seq 1 150); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  echo "$name did not start; its log:" >&2
  cat "$E2E/$name.log" >&2 || true
  return 1
}

start_services() {
  start_emulators
  : > "$E2E/lambda.log"
  start_function
  export REQUIRE_E2E=1 E2E_LAMBDA_URL=http://127.0.0.1:9100 E2E_PROXY_URL=http://127.0.0.1:4569 \
         E2E_LAMBDA_LOG="$E2E/lambda.log" \
         E2E_PROXY_LOG="$E2E/proxy-calls.ndjson" E2E_AWS_CLI="$E2E/venv/bin/aws"
}

start_emulators() {
  mkdir -p "$E2E"
  if [ ! -x "$E2E/node_modules/.bin/kinesis-local" ] && [ ! -f "$E2E/node_modules/kinesis-local/main.js" ]; then
    (cd "$E2E" && npm install --no-audit --no-fund --silent kinesis-local@0.6.2 >/dev/null)
  fi
  if [ ! -x "$E2E/venv/bin/cargo-lambda" ] || [ ! -x "$E2E/venv/bin/aws" ]; then
    python3 -m venv "$E2E/venv"
    "$E2E/venv/bin/pip" install --quiet --disable-pip-version-check cargo-lambda==1.9.2 awscli==1.46.3
  fi

  # Dummy credentials, and no instance-metadata lookups: nothing may leave loopback.
  export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
         AWS_EC2_METADATA_DISABLED=true AWS_ENDPOINT_URL=http://127.0.0.1:4568

  local km="$E2E/node_modules/kinesis-local"
  KINESIS_MOCK_CERT_PATH=$km/server.json KINESIS_MOCK_PLAIN_PORT=4568 KINESIS_MOCK_TLS_PORT=4567 \
  INITIALIZE_STREAMS="requests:1,predictions:1" CREATE_STREAM_DURATION=0ms LOG_LEVEL=WARN \
    node "$km/main.js" > "$E2E/kinesis-mock.log" 2>&1 &
  E2E_PIDS+=($!)
  wait_for kinesis-mock curl -sf http://127.0.0.1:4568/healthcheck

  : > "$E2E/proxy-calls.ndjson"
  python3 tests/support/throttle_proxy.py 4569 http://127.0.0.1:4568 0.1 "$E2E/proxy-calls.ndjson" \
    > "$E2E/proxy.log" 2>&1 &
  E2E_PIDS+=($!)
  wait_for proxy curl -sf http://127.0.0.1:4569/healthcheck

  (PATH="$E2E/venv/bin:$PATH" exec cargo lambda watch --only-lambda-apis -A 127.0.0.1 -P 9100) \
    > "$E2E/cargo-lambda.log" 2>&1 &
  E2E_PIDS+=($!)
  wait_for cargo-lambda bash -c 'exec 3<>/dev/tcp/127.0.0.1/9100'
}

# route-optim lambda, polling the emulator's runtime API, with the log format
# deploy/template.yaml gives it (JSON); sets E2E_FUNCTION_PID.
start_function() {
  AWS_LAMBDA_RUNTIME_API=http://127.0.0.1:9100/.rt AWS_LAMBDA_FUNCTION_NAME=_ AWS_LAMBDA_FUNCTION_VERSION=1 \
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE=1024 AWS_LAMBDA_LOG_FORMAT=JSON AWS_LAMBDA_LOG_LEVEL=INFO PRED_STREAM=predictions \
    target/release/route-optim lambda >> "$E2E/lambda.log" 2>&1 &
  E2E_FUNCTION_PID=$!
  E2E_PIDS+=("$E2E_FUNCTION_PID")
}
