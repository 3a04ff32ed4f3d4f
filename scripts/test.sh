#!/usr/bin/env bash
# Runs every test: installs what the tests need, then formatting, lints and
# the test suite (release build: the solver tests run optimised code).
set -euo pipefail
cd "$(dirname "$0")/.."

# The Rust toolchain comes with the machine; rustfmt and clippy may not.
rustup component add rustfmt clippy >/dev/null 2>&1 || true

cargo fmt --all -- --check
cargo clippy --release --all-targets --locked -- -D warnings
cargo test --release --locked
