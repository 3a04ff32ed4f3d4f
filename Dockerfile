# syntax=docker/dockerfile:1
#
# Two images from one builder:
#   lambda (the last stage, so the default target): the route-optim Lambda
#     function (README.md, "Deploy to AWS");
#   worker: the Kinesis batch worker for GPU EC2 instances (README.md, "Worker"):
#     docker build --target worker -t route-optim-worker .
#
#   x86_64 (the default, what deploy/template.yaml deploys):
#     docker build --platform linux/amd64 --provenance=false -t route-optim .
#   arm64 (Graviton; deploy with the template's Architecture=arm64):
#     docker build --platform linux/arm64 --provenance=false -t route-optim:arm64 .
#   (Lambda takes single-platform images only; BuildKit's provenance
#   attestation would make the pushed tag an image index.)
#
# CPU target. .cargo/config.toml gives x86_64-unknown-linux-gnu
# `-C target-cpu=x86-64-v3` (AVX2 + FMA, which Lambda's x86 hosts have), so the
# amd64 build needs nothing here and builds exactly what CI builds. Those
# rustflags apply to x86_64 only: for arm64 this file sets RUSTFLAGS from
# ARM64_RUSTFLAGS (default `-C target-cpu=neoverse-n1`, Graviton2, the oldest
# core Lambda's arm64 runs on; pass `--build-arg ARM64_RUSTFLAGS=` for plain
# aarch64). RUSTFLAGS is only ever set for arm64: set, even empty, it would
# replace the x86 rustflags of .cargo/config.toml.
#
# The arm64 image builds natively in an arm64 builder: on an x86 machine that
# means QEMU emulation (docker buildx with binfmt), which works but is slow;
# a Graviton machine builds it at full speed.

# Builder: Amazon Linux 2023 itself, the same distribution and glibc (2.34) as
# the runtime image below, so the binary links against no newer glibc symbol
# than Lambda provides. (rust:*-bookworm has glibc 2.36: a binary built there
# can fail to start on al2023 with "GLIBC_2.3x not found".) Rust comes from
# rustup; the toolchain is pinned to the one CI builds with.
ARG AL2023_TAG=2023.9.20250929.0
# Base of the worker image (a dated tag of debian:bookworm-slim, Debian 12).
ARG DEBIAN_TAG=bookworm-20251229-slim

FROM public.ecr.aws/amazonlinux/amazonlinux:${AL2023_TAG} AS builder

# Keep equal to the toolchain CI builds with (`rustc --version`); at least
# Cargo.toml's rust-version (scripts/lint-deploy.sh checks that).
ARG RUST_VERSION=1.95.0
ARG ARM64_RUSTFLAGS="-C target-cpu=neoverse-n1"
ARG TARGETARCH

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# AL2023's package repositories are locked to the release of the base image
# (deterministic upgrades): the image tag above pins these package versions,
# so they are not pinned one by one. A C toolchain and cmake are for crates
# with C parts (e.g. aws-lc-sys under the AWS SDK's TLS).
# hadolint ignore=DL3041
RUN dnf install -y --setopt=install_weak_deps=False gcc gcc-c++ make cmake \
 && dnf clean all \
 && rm -rf /var/cache/dnf

ENV RUSTUP_HOME=/usr/local/rustup \
    CARGO_HOME=/usr/local/cargo \
    PATH=/usr/local/cargo/bin:$PATH \
    CARGO_TERM_COLOR=never

RUN curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs \
    | sh -s -- -y --no-modify-path --profile minimal --default-toolchain "${RUST_VERSION}" \
 && rustc --version

WORKDIR /src
# The whole crate (.dockerignore leaves out target/, .git/ and the like),
# .cargo/ included: it carries the x86-64-v3 rustflags.
COPY . .

# The cargo registry and target/ live in BuildKit caches (target/ one per
# architecture), so a rebuild after a source change is incremental; the
# binary is copied out of the cache within the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target,id=route-optim-target-${TARGETARCH},sharing=locked \
    if [ "${TARGETARCH}" = "arm64" ]; then export RUSTFLAGS="${ARM64_RUSTFLAGS}"; fi \
 && cargo build --release --locked --bin route-optim \
 && mkdir -p /out \
 && cp target/release/route-optim /out/bootstrap

# Worker: `route-optim worker` reads the request stream itself (GetRecords),
# batches, writes predictions with PutRecords and checkpoints (README.md, "Worker").
#
# glibc: the binary is linked on Amazon Linux 2023 (glibc 2.34); bookworm has
# glibc 2.36. glibc is backward compatible (a newer glibc runs binaries linked
# against an older one), so the same binary runs here; the reverse direction
# is what the builder above avoids. Any newer Debian or Ubuntu base works too.
#
# GPU: the image carries no driver. The NVIDIA Container Toolkit mounts the
# host driver's libraries at run time; with `graphics` in
# NVIDIA_DRIVER_CAPABILITIES that includes its Vulkan driver (libGLX_nvidia),
# and under the nvidia runtime (`docker run --runtime=nvidia --gpus all`, a
# current toolkit) also the ICD manifest the Vulkan loader looks for
# (/etc/vulkan/icd.d/nvidia_icd.json). The image supplies what the driver
# does not ship: the Vulkan loader (libvulkan1) and the libEGL and libXext
# that libGLX_nvidia loads. Without a GPU the worker runs on the CPU backend.
FROM debian:${DEBIAN_TAG} AS worker

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# Not pinned one by one: Debian's archive drops a package version once an
# update supersedes it, so exact pins would break the build at the next
# security update; the dated base tag fixes the release. ca-certificates: the
# AWS SDK's TLS verifies against the system roots.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libvulkan1 libegl1 libxext6 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 route-optim \
 && useradd --system --uid 10001 --gid route-optim --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin route-optim \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/route-optim

COPY --from=builder /out/bootstrap /usr/local/bin/route-optim

# compute,utility: CUDA-side libraries and nvidia-smi; graphics: the Vulkan
# driver and its ICD manifest. The worker's settings (flag / variable):
# --request-stream / REQUEST_STREAM, --prediction-stream / PRED_STREAM,
# --checkpoint / CHECKPOINT_PATH, --batch-max / BATCH_MAX (1000),
# --batch-wait-ms / BATCH_WAIT_MS (200), --start / START_POSITION
# (trim-horizon or latest); AWS region and credentials from the standard AWS
# environment or the instance role.
ENV NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,graphics,utility \
    CHECKPOINT_PATH=/var/lib/route-optim/checkpoint.json

# The checkpoint lives here: mount a host directory or a named volume so that
# a replacement container resumes after the last written record. (A named
# volume starts with this directory's owner; a bind-mounted host directory
# must be writable by uid 10001.)
VOLUME ["/var/lib/route-optim"]
USER 10001:10001

# On SIGTERM the worker finishes the batch in flight, writes its outputs,
# checkpoints and exits 0. Docker kills it 10 s after `docker stop` unless told
# otherwise: run it with `--stop-timeout 60`.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/route-optim", "worker"]

# Runtime: Lambda's OS-only base image. Its entrypoint runs
# /var/runtime/bootstrap (through the Runtime Interface Emulator when started
# outside Lambda, so `docker run -p 9000:8080 IMAGE` can be invoked locally).
# Named `bootstrap` and given no arguments, route-optim runs the Lambda
# runtime loop, as `route-optim lambda` does.
FROM public.ecr.aws/lambda/provided:al2023 AS lambda
COPY --from=builder /out/bootstrap /var/runtime/bootstrap
# The entrypoint wants exactly one argument, the handler name (exported as
# _HANDLER; route-optim does not read it).
CMD ["bootstrap"]
