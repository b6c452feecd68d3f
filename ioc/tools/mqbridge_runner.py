"""Runs one mq-bridge route (MQTT -> PostgreSQL) for ``ioc bench --compare mq-bridge``.

Executed by the Python of mq-bridge's own virtual environment, so it imports nothing from
``ioc``: ``python mqbridge_runner.py CONFIG.json``. Runs until SIGTERM/SIGINT.
"""

from __future__ import annotations

import json
import signal
import sys
import threading


def main() -> None:
    import mq_bridge

    with open(sys.argv[1]) as handle:
        config = json.load(handle)
    route = mq_bridge.Route.from_config(config)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    route.start()
    print("mq-bridge route started", flush=True)
    stop.wait()
    route.stop()
    route.join()


if __name__ == "__main__":
    main()
