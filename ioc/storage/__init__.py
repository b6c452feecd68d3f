"""The schema and what keeps it true: migrations, the dashboards' rollups.

migrations.py  the versioned SQL of db/migrations, TimescaleDB or plain PostgreSQL, roles,
               reference data (``ioc db migrate``)
rollups.py     the rollups' definitions, the SQL derived from them, refresh and compare
refresher.py   ``RollupRefresher``: the running ingester's background refresh
errors.py      which database errors are retried (connection, resources) and which are the
               rows' fault (data): for every writer
"""
