"""Generate the IOC wall-screen dashboards: ``python grafana/build_dashboards.py``.

The dashboards are Python data in ``grafana/ioc_dashboards/`` (one module per dashboard, on
the panel builders of ``panels.py``) and JSON in ``grafana/dashboards/`` (committed; Grafana's
file provider reads them, see ``grafana/provisioning/dashboards/ioc.yml``). Re-run this after
changing them; tests/test_dashboards.py fails when the JSON is not what this writes.

Every panel reads the rollups, backlogs and functions of ``db/migrations/0005_dashboards.sql``
and ``0008_province_realism.sql`` (TimescaleDB continuous aggregates of the same names in
production), the reference tables and the alerting views,
through the datasource ``ioc-timescaledb`` as the read-only role ``ioc_grafana``. Each
query filters on the template variables ``province`` (one province) and ``district``
(several, or All), and tests/test_panel_queries.py runs every one against a simulated
database with Grafana's macros expanded.

Layout for a wall screen: big stat panels coloured against each province's own targets (the
``province_targets`` table, with bands wider than sampling noise: ``banded``), few panels per
row, the provinces' time zone, refresh every 30 seconds, Vietnamese titles and descriptions,
codes shown by their Vietnamese names (``vi_name()`` over the ``display_names`` table).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ioc_dashboards import DASHBOARDS

OUT_DIR = Path(__file__).resolve().parent / "dashboards"


def render(build: Any) -> str:
    """Stable JSON: sorted keys, two-space indent, UTF-8 (Vietnamese stays readable)."""
    return json.dumps(build(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="Default: %(default)s")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, build in DASHBOARDS.items():
        (args.out / name).write_text(render(build), encoding="utf-8")
        print(f"wrote {args.out / name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
