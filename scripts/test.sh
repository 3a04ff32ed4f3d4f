#!/usr/bin/env bash
# Runs every test: installs what the tests need (npm kinesis-local, PyPI
# cargo-lambda and awscli, under target/e2e), checks formatting and lints,
# starts the emulators on loopback, then runs the suite (release build: the
# solver tests run optimised code, the end-to-end tests the shipped binary).
set -euo pipefail
cd "$(dirname "$0")/.."

# The Rust toolchain comes with the machine; rustfmt and clippy may not.
rustup component add rustfmt clippy >/dev/null 2>&1 || true

cargo fmt --all -- --check
cargo clippy --release --all-targets --locked -- -D warnings
# The same command the Dockerfile runs (lint-deploy.sh checks it is there).
cargo build --release --locked --bin route-optim
# hadolint on the Dockerfile, cfn-lint on the CloudFormation template.
bash scripts/lint-deploy.sh

source scripts/services.sh
trap stop_services EXIT
start_services
cargo test --release --locked
