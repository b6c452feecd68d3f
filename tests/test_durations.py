"""One duration grammar for the alert files and for Grafana's intervals (``ioc.durations``)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ioc.durations import format_duration, parse_duration
from ioc.tools.panelbench import grafana_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("5m", timedelta(minutes=5)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("7d", timedelta(days=7)),
        ("1.5h", timedelta(minutes=90)),
        ("500ms", timedelta(milliseconds=500)),
        ("2w", timedelta(weeks=2)),
        ("0", timedelta(0)),
        (0, timedelta(0)),
        (" 10m ", timedelta(minutes=10)),
    ],
)
def test_the_alert_files_durations(text: object, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30d", timedelta(days=30)),
        ("24h", timedelta(hours=24)),
        ("1m", timedelta(minutes=1)),
        ("5s", timedelta(seconds=5)),
        ("100ms", timedelta(milliseconds=100)),
        ("1y", timedelta(days=365)),
        ("'5m'", timedelta(minutes=5)),  # a macro argument: $__timeGroup(time, '5m')
        (" '1h' ", timedelta(hours=1)),
    ],
)
def test_grafanas_intervals(text: str, expected: timedelta) -> None:
    assert grafana_duration(text) == expected


@pytest.mark.parametrize("text", ["300", "10 minutes", "", "5x", "m5", "1h 30m", "-5m", None])
def test_what_is_not_a_duration(text: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_a_duration_reads_back() -> None:
    for text in ("1h30m", "45s", "7d", "250ms"):
        assert format_duration(parse_duration(text)) == text
