#!/usr/bin/env bash
# Regenerates docs/report.png and docs/report-dark.png, the README's screenshots of report.html:
# a real apply of plans/persistence-demo.toml (its defaults) on a fresh copy of
# examples/persistence-demo, rendered by headless Chromium (Debian's `chromium`, installed
# when missing and this runs as root). Extra arguments go to `planrun apply`.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" != 0 ]; then
    echo "chromium is not installed; as root: apt-get install -y chromium" >&2
    exit 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium \
    || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }
fi

cargo build --release --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git archive HEAD examples/persistence-demo | tar -x -C "$work"
target="$work/examples/persistence-demo"
# A failed or inconclusive gate still writes the report; the screenshot shows whatever happened.
./target/release/planrun apply plans/persistence-demo.toml --target "$target" "$@" || true
report=$(ls -d "$target"/.planrun/runs/*/ | tail -n 1)report.html
[ -f "$report" ] || { echo "no report.html in $target/.planrun/runs" >&2; exit 1; }

shot() {
  local png=$1
  shift
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --hide-scrollbars --user-data-dir="$work/profile-$(basename "$png")" \
    --window-size=1280,2900 --screenshot="$PWD/$png" "$@" "file://$report" 2>/dev/null
  echo "wrote $png"
}
shot docs/report.png
shot docs/report-dark.png --force-dark-mode
