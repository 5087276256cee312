#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian machine with Rust: installs what it needs
# (as root: nasm for the H.264 encoder's assembly, ffmpeg for ffprobe cross-checks,
# chromium for the browser playback test, jq and curl for the quickstart check, postgresql
# for the store's PostgreSQL tests and the API suite's PostgreSQL + S3 run, systemd for
# `systemd-analyze verify` of deploy/vidgate.service), builds once,
# then runs every stage against the same target dir.
set -euo pipefail
cd "$(dirname "$0")/.."

stage() { printf '\n==== %s (at %d s)\n' "$*" "$SECONDS"; }

need_pkgs=()
for pair in nasm:nasm ffprobe:ffmpeg chromium:chromium jq:jq curl:curl systemd-analyze:systemd; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need_pkgs+=("${pair#*:}")
done
python3 -c 'import venv, ensurepip' 2>/dev/null || need_pkgs+=(python3-venv)
# PostgreSQL for the store's PostgreSQL tests, which start a throwaway cluster themselves
# (or use VIDGATE_TEST_POSTGRES_URL when set)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need_pkgs+=(postgresql)
if ((${#need_pkgs[@]})); then
  stage "installing ${need_pkgs[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing ${need_pkgs[*]}; run as root or install them" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  if [[ " ${need_pkgs[*]} " == *" postgresql "* ]]; then
    # no `main` cluster started at install: the tests start their own
    apt-get install -y -qq --no-install-recommends postgresql-common >/dev/null
    sed -ri 's/^#?[[:space:]]*create_main_cluster[[:space:]]*=.*/create_main_cluster = false/' \
      /etc/postgresql-common/createcluster.conf
  fi
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" fonts-dejavu-core >/dev/null
fi

export CARGO_TERM_COLOR=never
# s3s-fs: the S3-compatible server (it checks SigV4) the S3 media store tests and the API
# suite start (crates/vidgate-engine/tests/media_s3.rs and crates/vidgate-server/tests/api/s3s.rs
# look for it here, or at $VIDGATE_TEST_S3S_FS)
s3s_root="${CARGO_TARGET_DIR:-target}/tools/s3s-fs"
if [ -z "${VIDGATE_TEST_S3S_FS:-}" ] && [ ! -x "$s3s_root/bin/s3s-fs" ]; then
  stage "installing s3s-fs 0.14.1 into $s3s_root"
  cargo install s3s-fs --version 0.14.1 --features binary --locked --root "$s3s_root" 2>&1 | tail -n 2
fi
stage "build (once, shared by every stage)"
cargo build --workspace --all-targets --locked 2>&1 | tail -n 3
if grep -qs "Failed to compile NASM files" "${CARGO_TARGET_DIR:-target}"/debug/build/openh264-sys2-*/output; then
  echo "openh264 was built without its assembly (nasm missing?)" >&2
  exit 1
fi

stage "rust tests (unit, store conformance, media, API black-box on SQLite + local files, process crash tests)"
VIDGATE_TEST_BACKEND=sqlite cargo test --workspace --locked 2>&1 | tee target/test-rust.log |
  grep -E '^(test result|running|error|failures:|---- )|panicked' || true
if grep -qE '^test result: FAILED|^error' target/test-rust.log; then
  echo "rust tests failed; see target/test-rust.log" >&2
  exit 1
fi

# The same API binary again (same build and features: `--workspace --test api` selects it
# without changing the feature set, so nothing is rebuilt), every app on a fresh PostgreSQL
# database of a throwaway cluster and its own bucket on one s3s-fs, both started by the test
# binary itself; nothing from the previous stage is reused.
# Each upstream kind's own protocol cases (its file upstream_<kind>.rs) test the adapter's
# mapping, which no backend changes; they run on SQLite above. Here every adapter still
# runs through the store and the bucket in the table-driven files (upstream_cases: submit,
# poll, restart, lost submits and faults on every adapter; upstream_chaos, upstream_retries,
# upstreams, channels, channel_pools), with every other API test.
per_kind=(minimax fal runway modelark dashscope luma luma_lookup kling comfyui keyframes guides vertex gemini openai vidgate extension)
skip_per_kind=()
for kind in "${per_kind[@]}"; do skip_per_kind+=(--skip "upstream_${kind}::"); done
stage "API black-box suite on PostgreSQL + S3 (VIDGATE_TEST_BACKEND=postgres-s3)"
VIDGATE_TEST_BACKEND=postgres-s3 cargo test --workspace --locked --test api -- "${skip_per_kind[@]}" 2>&1 | tee target/test-api-postgres-s3.log |
  grep -E '^(test result|running|error|failures:|---- )|panicked|Compiling' || true
if grep -qE '^test result: FAILED|^error' target/test-api-postgres-s3.log ||
  ! grep -qE '^test result: ok' target/test-api-postgres-s3.log; then
  echo "the API suite failed on PostgreSQL + S3; see target/test-api-postgres-s3.log" >&2
  exit 1
fi

# The console check saves its screenshots under target/ here; docs/console/ holds the
# committed ones (a manual `bash scripts/console-check.sh` refreshes them).
export VIDGATE_CONSOLE_SHOTS="${VIDGATE_CONSOLE_SHOTS:-target/console-shots}"
for extra in scripts/webhook-check.sh scripts/openai-sdk.sh scripts/deploy-check.sh scripts/schemathesis.sh scripts/console-check.sh; do
  if [ -f "$extra" ]; then
    stage "$extra"
    bash "$extra"
  fi
done

# After openai-sdk.sh, whose venv lets the check run the README's SDK example too.
stage "README.md's first command, quickstart and SDK example, run as written, checked with ffprobe"
bash scripts/quickstart-check.sh

stage "all stages passed"
