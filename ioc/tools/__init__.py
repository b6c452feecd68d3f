"""Tooling beside the service; nothing in the service imports it.

demo.py            ``ioc demo``: broker, database, simulators, ingester, alerter, live summary
bench.py           ``ioc bench``: the pipeline measured on local components
panelbench.py      ``ioc bench-panels``: every dashboard panel's query, timed
status.py          the overview wall screen's headline figures by the dashboard's own queries
                   (``ioc status``, the demo's live view)
local.py           real local PostgreSQL and Mosquitto servers (demo, benchmarks, tests)
mqbridge_runner.py one mq-bridge route, for ``ioc bench --compare mq-bridge``
"""
