#!/usr/bin/env bash
# Runs every test: installs what the tests need (npm kinesis-local, PyPI
# cargo-lambda and awscli, under target/e2e; Mesa's lavapipe from Debian),
# checks formatting and lints,
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

# The GPU tests run on lavapipe, Mesa's software Vulkan driver, and fail
# rather than skip without it (REQUIRE_GPU=1). Debian 12's own Mesa 22.3
# returns corrupted tours from shaders/two_opt.wgsl; Mesa 25 from
# bookworm-backports runs it right.
mesa=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
if [ "${mesa%%.*}" = "" ] || [ "${mesa%%.*}" -lt 25 ]; then
  . /etc/os-release
  echo "deb http://deb.debian.org/debian ${VERSION_CODENAME}-backports main" \
    >/etc/apt/sources.list.d/route-optim-backports.list
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t "${VERSION_CODENAME}-backports" \
    mesa-vulkan-drivers libvulkan1 >/dev/null
fi
export WGPU_BACKEND=vulkan NODEVICE_SELECT=1 REQUIRE_GPU=1 XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}

source scripts/services.sh
trap stop_services EXIT
start_services
cargo test --release --locked
