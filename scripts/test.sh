#!/usr/bin/env bash
# Lint, then the whole test suite against a real Mosquitto and PostgreSQL that the tests start.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/ruff check ioc simulators tests grafana
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
