"""The ``ioc`` command line: one root group, and a module per subject that registers its
commands on it (importing this package imports them all).

root.py      the root group ``main``; an error a user can fix becomes one line, exit status 1
common.py    the settings, the database a command needs, ``--database-url``, logging
db.py        ``ioc db migrate``, ``ioc db refresh-rollups``, ``ioc db check-rollups``
ingest.py    ``ioc ingest [--workers N]``, ``ioc dead-letters``
status.py    ``ioc status``: the overview wall screen's headline figures (``ioc.tools.status``)
alerting.py  ``ioc alert ...`` (the alerter, rule and subscriber checks), ``ioc alerts ...``
tools.py     ``ioc demo``, ``ioc bench``, ``ioc bench-panels`` (``ioc.tools``)
__main__.py  ``python -m ioc.cli``

``ioc-sim`` is ``simulators.cli``.
"""

from ioc.cli import alerting, db, ingest, status, tools  # noqa: F401  (each registers its commands)
from ioc.cli.root import main

__all__ = ["main"]
