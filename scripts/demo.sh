#!/usr/bin/env bash
# The main job on embedded defaults: broker, database, simulators, ingester, live summary.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/ioc demo "$@"
