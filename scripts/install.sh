#!/usr/bin/env bash
# Installs what Reji needs on Debian/Ubuntu, only where it is missing: the system libraries, the test
# tools (Secret Service, Xvfb, WebKit driver) and a Rust toolchain. Safe to run again.
set -euo pipefail

need_pkgs=(
  build-essential pkg-config file curl ca-certificates dpkg-dev
  libssl-dev libdbus-1-dev
  # desktop shell (Tauri 2 / WebKitGTK)
  libwebkit2gtk-4.1-dev libxdo-dev libayatana-appindicator3-dev librsvg2-dev
  # tests: real Secret Service, a real WebKit window, reference tools for benchmarks
  dbus dbus-x11 gnome-keyring libsecret-tools xvfb xauth webkit2gtk-driver sqlite3 time
  # receipts: the PDF test reads the text layer back with pdftotext; docs render pages with pdftoppm
  poppler-utils
  # Japanese text in the app windows (a small Gothic font; system fonts are preferred when present)
  fonts-ipafont-gothic
)

missing=()
for p in "${need_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install: Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ -f "$HOME/.cargo/env" ]; then
  # shellcheck disable=SC1091
  . "$HOME/.cargo/env"
fi

if ! command -v cargo >/dev/null 2>&1; then
  if ! command -v rustup >/dev/null 2>&1; then
    echo "install: Rust (rustup from Debian's packages)"
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq rustup >/dev/null || {
      echo "install: no cargo and no rustup package here; install Rust 1.80 or newer with rustup, then run this again" >&2
      exit 1
    }
  fi
  rustup toolchain install stable --profile minimal -c rustfmt,clippy
  rustup default stable
fi

for c in rustfmt clippy; do
  if ! cargo "${c/rustfmt/fmt}" --version >/dev/null 2>&1 && command -v rustup >/dev/null 2>&1; then
    rustup component add "$c" || true
  fi
done
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "install: cargo-fuzz (for the fuzz smoke test)"
  cargo install cargo-fuzz --locked --quiet
fi
if ! command -v tauri-driver >/dev/null 2>&1; then
  echo "install: tauri-driver (for the end-to-end test of the desktop app)"
  cargo install tauri-driver --locked --quiet
fi
if ! command -v cargo-audit >/dev/null 2>&1; then
  echo "install: cargo-audit (checks Cargo.lock against the vendored RustSec advisory database)"
  cargo install cargo-audit --locked --quiet
fi
echo "install: ready ($(cargo --version))"
