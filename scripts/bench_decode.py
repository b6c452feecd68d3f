"""The ingester's decode step, per feed, against an earlier commit's, in one run.

    python scripts/bench_decode.py [--baseline b46434c] [--events 50000] [--rounds 5]
    python scripts/bench_decode.py --alternatives     # TypeAdapter batch validation, timed

What is timed is what ``Ingester.decode_batch`` does with a batch (``--batch`` messages,
received at one instant) plus ``Event.row()`` of each event, the store's first step: for each
feed on its own (batches of that feed only) and for the mix as the bench publishes it. The
baseline is that commit's ``ioc`` (``git archive`` into a temporary folder), run in a
separate process exactly like this checkout, each in the garbage collector's set-up of its
``ioc ingest`` (``tune_gc_for_ingest`` where it exists); the two alternate, and each figure
is the best of ``--rounds`` rounds (CPU time of the process). Figures, never assertions.
"""

from __future__ import annotations

import argparse
import json
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _child(messages_file: str, rounds: int, batch: int) -> None:
    """Run inside one checkout: print {feed: best µs/event} as JSON."""
    import collections

    from ioc.ingest import boundary, ingester
    from ioc.models import Event
    from ioc.runtime import utc_now
    from ioc.topics import parse_feed_topic

    messages: list[tuple[str, bytes]] = pickle.loads(Path(messages_file).read_bytes())
    by_feed: dict[str, list[tuple[str, bytes]]] = collections.defaultdict(list)
    for topic, payload in messages:
        by_feed[parse_feed_topic(topic).feed.value].append((topic, payload))
    by_feed["mixed"] = messages
    decode_all = getattr(boundary, "decode_all", None)

    def decode_batch(chunk: list[tuple[str, bytes]]) -> list[object]:
        now = utc_now()
        if decode_all is not None:
            return decode_all(chunk, received_at=now, max_payload_bytes=65536)
        return [boundary.decode(t, p, received_at=now, max_payload_bytes=65536) for t, p in chunk]

    tune = getattr(ingester, "tune_gc_for_ingest", None)
    if tune is not None:
        tune()
    best: dict[str, float] = {}
    kept: list[object] = []  # the ingester holds a few batches while they are written
    for _ in range(rounds):
        for feed, items in by_feed.items():
            started = time.process_time()
            for index in range(0, len(items), batch):
                decoded = decode_batch(items[index : index + batch])
                rows = [item.row() for item in decoded if isinstance(item, Event)]
                kept.append((decoded, rows))
                del kept[:-2]
            took = (time.process_time() - started) / len(items) * 1e6
            best[feed] = min(best.get(feed, took), took)
    print(json.dumps(best))


def _alternatives(messages: list[tuple[str, bytes]], rounds: int, batch: int) -> None:
    """Validation alone, three ways, on this tree (``--alternatives``): per message; one
    ``TypeAdapter(list[Model])`` call per feed and batch over the joined payloads (unsafe:
    a payload can end inside another's string or brackets); the same with each payload
    framed as ``[nonce + i, payload]`` and the nonces checked (safe)."""
    import collections
    import secrets

    from pydantic import TypeAdapter

    from ioc.ingest.ingester import tune_gc_for_ingest
    from ioc.models import EVENT_TYPES
    from ioc.topics import parse_feed_topic

    tune_gc_for_ingest()
    items = [(parse_feed_topic(topic).feed, payload) for topic, payload in messages]
    lists = {feed: TypeAdapter(list[model]) for feed, model in EVENT_TYPES.items()}
    framed = {feed: TypeAdapter(list[tuple[int, model]]) for feed, model in EVENT_TYPES.items()}
    kept: list[object] = []

    def per_message(chunk: list) -> list[object]:
        return [EVENT_TYPES[feed].__pydantic_validator__.validate_json(p) for feed, p in chunk]

    def by_feed(chunk: list) -> dict:
        groups: dict = collections.defaultdict(list)
        for feed, payload in chunk:
            groups[feed].append(payload)
        return groups

    def joined(chunk: list) -> list[object]:
        out: list[object] = []
        for feed, payloads in by_feed(chunk).items():
            out += lists[feed].validate_json(b"[" + b",".join(payloads) + b"]")
        return out

    def nonce_framed(chunk: list) -> list[object]:
        out: list[object] = []
        for feed, payloads in by_feed(chunk).items():
            base = secrets.randbits(62)
            body = b",".join(b"[%d,%s]" % (base + i, p) for i, p in enumerate(payloads))
            pairs = framed[feed].validate_json(b"[" + body + b"]")
            if len(pairs) != len(payloads) or any(n != base + i for i, (n, _) in enumerate(pairs)):
                raise ValueError("misframed")
            out += [event for _, event in pairs]
        return out

    print(f"validation alone, batches of {batch}, best of {rounds} rounds (µs/event):")
    for way in (per_message, joined, nonce_framed):
        best = float("inf")
        for _ in range(rounds):
            started = time.process_time()
            for index in range(0, len(items), batch):
                kept.append(way(items[index : index + batch]))
                del kept[:-2]
            best = min(best, time.process_time() - started)
        print(f"  {way.__name__:<13} {best / len(items) * 1e6:>6.2f}")


def _run(root: Path, messages_file: Path, rounds: int, batch: int) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", str(messages_file), str(rounds), str(batch)],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.splitlines()[-1])


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        _child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", default="b46434c", help="commit to compare with")
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5, help="rounds per process (best of)")
    parser.add_argument("--runs", type=int, default=2, help="processes per side, alternating")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument(
        "--alternatives",
        action="store_true",
        help="time batch validation with TypeAdapter(list[Model]) instead (this tree only)",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from ioc.tools.bench import generate

    if args.alternatives:
        messages = [(topic, payload) for topic, payload, _ in generate(args.events)]
        _alternatives(messages, args.rounds, args.batch)
        return

    with tempfile.TemporaryDirectory(prefix="bench-decode-") as tmp:
        base = Path(tmp) / "baseline"
        base.mkdir()
        archive = subprocess.run(
            ["git", "archive", args.baseline, "ioc", "simulators"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(base)], input=archive, check=True)
        messages_file = Path(tmp) / "messages.pickle"
        messages = [(topic, payload) for topic, payload, _ in generate(args.events)]
        messages_file.write_bytes(pickle.dumps(messages))
        results: dict[str, dict[str, float]] = {"before": {}, "after": {}}
        for _ in range(args.runs):
            for side, root in (("before", base), ("after", ROOT)):
                for feed, took in _run(root, messages_file, args.rounds, args.batch).items():
                    results[side][feed] = min(results[side].get(feed, took), took)
    print(
        f"decode + row(), batches of {args.batch}, {args.events:,} simulated events, best of "
        f"{args.runs} x {args.rounds} rounds (µs/event, process CPU)"
    )
    print(f"{'feed':<10} {args.baseline:>10} {'this tree':>10} {'after/before':>13}")
    for feed, before in results["before"].items():
        after = results["after"][feed]
        print(f"{feed:<10} {before:>10.2f} {after:>10.2f} {after / before:>12.2f}x")


if __name__ == "__main__":
    main()
