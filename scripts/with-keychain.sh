#!/usr/bin/env bash
# Runs a command inside a throw-away D-Bus session with an unlocked GNOME Keyring, i.e. a real
# Secret Service (org.freedesktop.secrets), and REJI_TEST_KEYCHAIN=1 set. For Linux CI and dev
# boxes without a desktop session. Needs: dbus (dbus-run-session, dbus-send), gnome-keyring,
# libsecret-tools (secret-tool).
#
#   scripts/with-keychain.sh cargo test --test integration keychain::
#   scripts/with-keychain.sh secret-tool search --all service reji
#
# Nothing touches your real keyring: XDG_DATA_HOME (where gnome-keyring keeps its keyrings) and
# XDG_RUNTIME_DIR point at temporary directories that are removed afterwards.
set -euo pipefail

if [ $# -eq 0 ]; then
  echo "usage: $0 COMMAND [ARGS...]" >&2
  exit 2
fi

if [ -z "${_REJI_KEYCHAIN_INNER:-}" ]; then
  tmp_data=$(mktemp -d)
  tmp_runtime=$(mktemp -d)
  chmod 700 "$tmp_runtime"
  cleanup() { rm -rf "$tmp_data" "$tmp_runtime"; }
  trap cleanup EXIT
  set +e
  XDG_DATA_HOME="$tmp_data" XDG_RUNTIME_DIR="$tmp_runtime" _REJI_KEYCHAIN_INNER=1 \
    dbus-run-session -- "$0" "$@"
  rc=$?
  set -e
  exit "$rc"
fi

# Inside the private session bus. Start the daemon ourselves, before anything can D-Bus-activate
# a locked one: `--unlock` reads the password from stdin and creates and unlocks the "login"
# collection, which is the "default" alias that keyring stores new items in. It runs in the
# foreground as our own background job, so that its messages are kept (in a log shown when the
# command fails) and a daemon that dies is reported as such rather than as a test failure far away.
daemon_log="$XDG_RUNTIME_DIR/gnome-keyring.log"
printf '%s' "${REJI_TEST_KEYRING_PASSWORD:-reji-test}" |
  gnome-keyring-daemon --foreground --unlock --components=secrets >"$daemon_log" 2>&1 &
daemon_pid=$!

# Wait until the Secret Service is on the bus.
on_bus() {
  dbus-send --session --print-reply=literal --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q true
}
up=""
for _ in $(seq 1 100); do
  if on_bus; then up=1; break; fi
  kill -0 "$daemon_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$up" ]; then
  echo "with-keychain: gnome-keyring-daemon did not come up on the session bus; its log:" >&2
  cat "$daemon_log" >&2 || true
  exit 1
fi

stop_daemon() { kill "$daemon_pid" 2>/dev/null || true; }
trap stop_daemon EXIT

export REJI_TEST_KEYCHAIN=1
set +e
"$@"
rc=$?
set -e
if ! kill -0 "$daemon_pid" 2>/dev/null; then
  wait "$daemon_pid"
  echo "with-keychain: gnome-keyring-daemon exited during the run (status $?); its log:" >&2
  cat "$daemon_log" >&2 || true
elif [ "$rc" -ne 0 ] && [ -s "$daemon_log" ]; then
  echo "with-keychain: the command failed (status $rc); gnome-keyring-daemon's log:" >&2
  cat "$daemon_log" >&2 || true
fi
exit "$rc"
