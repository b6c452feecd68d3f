"""Structured, quiet-by-default logging: ``time level logger message key=value ...``.

Context keys (feed, province, topic, reason, rule, notifier) go in ``extra=`` and are printed
as ``key=value`` pairs, so a log line can be grepped and parsed without a JSON viewer.
"""

from __future__ import annotations

import logging
import sys

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        when = self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z")  # with its offset
        line = f"{when} {record.levelname:<7} {record.name}: {record.getMessage()}"
        extras = {k: v for k, v in vars(record).items() if k not in _STANDARD}
        if extras:
            line += " " + " ".join(
                f"{k}={v!r}" if isinstance(v, str) and " " in v else f"{k}={v}"
                for k, v in extras.items()
            )
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def setup_logging(level: str = "WARNING") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("asyncio",):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
