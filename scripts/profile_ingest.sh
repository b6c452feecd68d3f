#!/usr/bin/env bash
# A py-spy profile of the real `ioc ingest` that `ioc bench` starts, from outside (as root).
#
#   bash scripts/profile_ingest.sh [OUT_PREFIX] [ioc bench arguments ...]
#
# Runs `ioc bench` (default: --events 100000 --publishers 4), attaches py-spy to the
# ingester as soon as the bench starts it, and writes OUT_PREFIX.txt (collapsed stacks:
# speedscope.app and flamegraph.pl open it) and OUT_PREFIX.summary (the samples by the
# ingester's stages, from scripts/profile_summary.py). py-spy samples without pausing the
# process (--nonblocking), 250 times a second; samples where the process is idle are left out.
# Needs py-spy in the virtual environment: .venv/bin/pip install py-spy
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-state/profile/ingest}
shift || true
[ $# -gt 0 ] || set -- --events 100000 --publishers 4
mkdir -p "$(dirname "$out")"
py_spy=.venv/bin/py-spy
[ -x "$py_spy" ] || { echo "py-spy is not installed: .venv/bin/pip install py-spy" >&2; exit 1; }
.venv/bin/ioc bench "$@" &
bench=$!
pid=
for _ in $(seq 600); do
    pid=$(pgrep -P "$bench" -f "ioc.cli ingest" || true)
    [ -n "$pid" ] && break
    sleep 0.1
done
[ -n "$pid" ] || { echo "the bench did not start an ingester" >&2; wait "$bench"; exit 1; }
"$py_spy" record --pid "$pid" --rate 250 --nonblocking --format raw -o "$out.txt" >/dev/null 2>&1 &
spy=$!
wait "$bench"
wait "$spy" || true
.venv/bin/python scripts/profile_summary.py "$out.txt" | tee "$out.summary"
