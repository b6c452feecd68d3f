"""``ioc ingest --workers N``: N ingester processes sharing one stream.

Each worker is a separate process (the receive path is CPU-bound in one interpreter) with its
own stable client id ``<id>-w<i>`` and persistent session, subscribed through
``$share/<group>/...`` so that the broker hands each message to exactly one of them. Metrics
ports are consecutive from IOC_INGEST_METRICS_PORT. SIGINT/SIGTERM is passed on to every
worker, which commits its batch in hand before it exits.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from ioc.settings import Settings


def run_workers(settings: Settings, workers: int) -> int:
    group = settings.ingest_shared_group or "ioc-ingest"
    processes: list[subprocess.Popen[bytes]] = []
    for index in range(1, workers + 1):
        env = dict(os.environ)
        env["IOC_INGEST_SHARED_GROUP"] = group
        env["IOC_INGEST_CLIENT_ID"] = f"{settings.ingest_client_id}-w{index}"
        if settings.ingest_metrics_port:
            env["IOC_INGEST_METRICS_PORT"] = str(settings.ingest_metrics_port + index - 1)
        processes.append(
            subprocess.Popen([sys.executable, "-m", "ioc.cli", "ingest", "--workers", "1"], env=env)
        )

    def forward(signum: int, _frame: object) -> None:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signum)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    codes = [process.wait() for process in processes]
    return max(codes, default=0)
