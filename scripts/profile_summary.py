"""Where an ``ioc ingest`` profile's CPU samples go: by stage, and the top functions.

    python scripts/profile_summary.py state/profile/ingest.txt [--us-per-event 42.7]

Reads py-spy's collapsed stacks (``py-spy record --format raw``, as written by
scripts/profile_ingest.sh). Each sample goes to the first stage found walking its stack from
the innermost frame outwards (so logging called from the decoder counts as logging; asyncio's
own frames only when nothing else matches, so a socket write counts for its caller), and with
``--us-per-event`` the shares are also shown as µs/event, scaled to the bench's measured CPU.
"""

from __future__ import annotations

import argparse
import collections
import re
from pathlib import Path


def _validator_call_site() -> re.Pattern[str]:
    """The frame of ``decode_all`` calling the model's validator (native code: no frame of
    its own), by its line in this checkout's ioc/ingest/boundary.py."""
    source = Path(__file__).resolve().parent.parent / "ioc" / "ingest" / "boundary.py"
    lines = source.read_text().splitlines()
    found = [str(n) for n, line in enumerate(lines, 1) if ".validate_json(payload)" in line]
    return re.compile(rf"^decode_all \(ioc/ingest/boundary\.py:({'|'.join(found) or '0'})\)$")


STAGES: list[tuple[str, re.Pattern[str]]] = [
    ("start-up and imports", re.compile(r"^_find_and_load ")),
    ("topic parse", re.compile(r"parse_feed_topic ")),
    ("time limits", re.compile(r"^TimeLimits\.(check|plausible_at)")),
    ("pydantic validation", re.compile(r"pydantic/|^_storable |Event\._check_\w+ ")),
    ("pydantic validation", _validator_call_site()),
    ("boundary decode (rest)", re.compile(r"ioc/ingest/boundary\.py")),
    ("Event.row()", re.compile(r"^Event\.row\b")),
    ("logging", re.compile(r"/logging/|ioc/logs?\.py|ioc/logging")),
    ("metrics", re.compile(r"prometheus_client|ioc/ingest/metrics\.py")),
    ("asyncpg", re.compile(r"asyncpg/")),
    ("store (Python side)", re.compile(r"ioc/ingest/store\.py")),
    ("MQTT wire decode", re.compile(r"ioc/mqtt/wire\.py")),
    ("MQTT source (receive, acks)", re.compile(r"ioc/mqtt/")),
    ("ingester loop", re.compile(r"ioc/ingest/ingester\.py")),
    ("asyncio event loop", re.compile(r"asyncio/|selectors\.py")),
]


def _stage(frames: list[str]) -> str:
    startup_name, startup = STAGES[0]
    if any(startup.match(frame) for frame in frames):
        return startup_name
    *stages, (loop_name, loop) = STAGES[1:]
    for frame in reversed(frames):
        for name, pattern in stages:
            if pattern.search(frame):
                return name
    # the loop's own frames count only when nothing of ours is on the stack: a socket write
    # (asyncio's transport) belongs to asyncpg's or the MQTT source's stage
    return loop_name if any(loop.search(frame) for frame in frames) else "other"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("stacks", type=Path)
    parser.add_argument("--us-per-event", type=float, help="the bench's ingester CPU µs/event")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    stages: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in args.stacks.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        own[frames[-1]] += count
        stages[_stage(frames)] += count
    running = total - stages["start-up and imports"]
    print(f"{total} samples, {running} after start-up")
    print(
        f"{'stage':<30} {'samples':>8} {'share':>7}" + ("  µs/event" if args.us_per_event else "")
    )
    for name, count in stages.most_common():
        if name == "start-up and imports":
            continue
        share = count / running if running else 0.0
        line = f"{name:<30} {count:>8} {share:>6.1%}"
        if args.us_per_event:
            line += f"  {share * args.us_per_event:>8.1f}"
        print(line)
    print(f"{'(start-up and imports)':<30} {stages['start-up and imports']:>8}")
    print(f"\ntop {args.top} functions by own samples (innermost frame):")
    for frame, count in own.most_common(args.top):
        print(f"{count:>7} {count / total:>6.1%}  {frame[:110]}")


if __name__ == "__main__":
    main()
