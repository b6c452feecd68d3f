"""The BENCHMARKS.md plots: rows/s against ingest workers, latency against offered rate.

Runs the measurements one after another (never two at once) through ``ioc.tools.bench.measure`` on
fresh local Mosquitto and PostgreSQL servers, prints the figures, and writes
``docs/bench/rows_vs_workers.png`` and ``docs/bench/latency_vs_rate.png``.

    .venv/bin/python scripts/bench_plots.py [--workers 1,2,3] [--rates 500,1000,2000,4000]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from ioc.tools.bench import Figures, measure

OUT = Path(__file__).resolve().parent.parent / "docs" / "bench"


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def workers_sweep(counts: list[int], events: int, publishers: int) -> dict[int, Figures]:
    results: dict[int, Figures] = {}
    for n in counts:
        figures = measure(events=events, publishers=publishers, durable=True, workers=n, log=_log)
        results[n] = figures
        print(
            f"workers={n}: {figures.rows_per_second:,.0f} rows/s, "
            f"lost {figures.lost:,}, duplicated {figures.duplicated:,}, "
            f"peak RSS {figures.peak_rss_mb:.1f} MB, CPU {figures.cpu_us_per_event:.1f} µs/event",
            flush=True,
        )
    return results


def rate_sweep(rates: list[float], events: int, publishers: int) -> dict[float, Figures]:
    results: dict[float, Figures] = {}
    for rate in rates:
        figures = measure(events=events, publishers=publishers, durable=True, rate=rate, log=_log)
        results[rate] = figures
        print(
            f"rate={rate:,.0f}/s: {figures.rows_per_second:,.0f} rows/s, latency p50/p95/p99 "
            f"{figures.latency_p50_ms:,.1f} / {figures.latency_p95_ms:,.1f} / "
            f"{figures.latency_p99_ms:,.1f} ms, lost {figures.lost:,}, "
            f"duplicated {figures.duplicated:,}",
            flush=True,
        )
    return results


def plot_workers(results: dict[int, Figures], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    xs = sorted(results)
    ys = [results[n].rows_per_second for n in xs]
    ax.plot(xs, ys, marker="o")
    for x, y in zip(xs, ys, strict=True):
        ax.annotate(f"{y:,.0f}", (x, y), textcoords="offset points", xytext=(0, 8), ha="center")
    ax.set_xticks(xs)
    ax.set_xlabel("ioc ingest --workers N")
    ax.set_ylabel("sustained rows/s")
    ax.set_ylim(0, max(ys) * 1.25)
    ax.set_title("Rows/s against ingest workers (durable PostgreSQL)")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_latency(results: dict[float, Figures], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    xs = sorted(results)
    for label, attr in (
        ("p50", "latency_p50_ms"),
        ("p95", "latency_p95_ms"),
        ("p99", "latency_p99_ms"),
    ):
        ax.plot(xs, [getattr(results[x], attr) for x in xs], marker="o", label=label)
    ax.axhline(100, color="grey", linestyle="--", linewidth=1, label="100 ms target (p99)")
    ax.set_xlabel("offered load, events/s")
    ax.set_ylabel("publish -> row written, ms")
    ax.set_yscale("log")
    ax.set_xscale("log")  # rates double from one point to the next
    ax.set_xticks(xs, [f"{x:,.0f}" for x in xs])
    ax.minorticks_off()
    ax.set_title("End-to-end latency against offered rate")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", default="1,2,3")
    parser.add_argument("--workers-events", type=int, default=100_000)
    parser.add_argument("--rates", default="500,1000,2000,4000,8000")
    parser.add_argument("--rate-events", type=int, default=30_000)
    parser.add_argument("--publishers", type=int, default=4)
    parser.add_argument("--skip-workers", action="store_true")
    parser.add_argument("--skip-rates", action="store_true")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if not args.skip_workers:
        counts = [int(n) for n in args.workers.split(",")]
        workers = workers_sweep(counts, args.workers_events, args.publishers)
        plot_workers(workers, OUT / "rows_vs_workers.png")
    if not args.skip_rates:
        rates = [float(r) for r in args.rates.split(",")]
        latency = rate_sweep(rates, args.rate_events, args.publishers)
        plot_latency(latency, OUT / "latency_vs_rate.png")


if __name__ == "__main__":
    main()
