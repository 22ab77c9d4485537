#!/usr/bin/env bash
# A few seconds of each fuzz target (CI smoke). Uses the nightly toolchain when there is one, else
# stable with RUSTC_BOOTSTRAP=1 (no toolchain can be downloaded on these machines).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs="${1:-5}"
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "fuzz-smoke: cargo-fuzz is not installed (scripts/install.sh installs it)" >&2
  exit 1
fi
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  run() { cargo +nightly fuzz "$@"; }
else
  run() { RUSTC_BOOTSTRAP=1 cargo fuzz "$@"; }
fi
# Each target starts from an empty scratch corpus, as on a clean clone: libFuzzer replays a whole corpus
# before it looks at the clock, and a long run's corpus (scripts/fuzz-long) takes minutes under ASan.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for t in $(run list); do
  echo "fuzz-smoke: $t for ${secs}s"
  log=$(mktemp)
  mkdir -p "$scratch/$t"
  if ! run run -O "$t" "$scratch/$t" -- -max_total_time="$secs" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    if grep -q "failed to build fuzz script" "$log"; then
      echo "fuzz-smoke: $t FAILED: the target does not build (see the compiler's message above)" >&2
    else
      echo "fuzz-smoke: $t FAILED (a crash input is in fuzz/artifacts/$t/)" >&2
    fi
    exit 1
  fi
  grep -E "^Done" "$log" || true
  rm -f "$log"
done
