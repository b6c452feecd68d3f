"""``ioc alert ...`` (the service and its configuration) and ``ioc alerts ...`` (operators).

ioc alert run [--once]                  the alerter, until SIGINT/SIGTERM
ioc alert check-rules FILE...           validate rule files and print the rules
ioc alert check-subscribers FILE        validate a subscriber file
ioc alerts list [--all]                 current alerts (firing and pending; --all: resolved)
ioc alerts silence add -m M... --duration 2h --comment ...
ioc alerts silence list [--all]
ioc alerts silence expire ID
ioc alerts ack [RULE] [-m M...] [--fingerprint FP] --by NAME [--comment ...]
"""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

import click

from ioc.alerting.errors import AlertingError, ConfigError
from ioc.alerting.evaluate import State
from ioc.alerting.labels import Matcher
from ioc.alerting.rules import Rule, load_rules
from ioc.alerting.store import AlertStore
from ioc.cli.common import configured, require_reachable_database
from ioc.cli.root import main
from ioc.durations import format_duration, parse_duration
from ioc.models import VN_TZ
from ioc.runtime import SYSTEM_CLOCK

T = TypeVar("T")




def _local(moment: datetime | None) -> str:
    from ioc.timefmt import show

    return show(moment)  # Vietnam time unless `ioc --utc`, with the zone named


def _with_store(dsn: str, work: Callable[[AlertStore], Awaitable[T]]) -> T:
    async def go() -> T:
        async with AlertStore(dsn, max_connections=1) as store:
            return await work(store)

    try:
        return asyncio.run(go())
    except AlertingError as exc:
        raise click.ClickException(str(exc)) from None


def _config_error(exc: ConfigError) -> click.ClickException:
    if len(exc.problems) == 1:  # one problem, one line
        return click.ClickException(" ".join(str(exc.problems[0]).split()))
    return click.ClickException(
        f"{len(exc.problems)} problem(s):\n" + "\n".join(f"  {p}" for p in exc.problems)
    )


def _matchers(values: tuple[str, ...]) -> list[Matcher]:
    try:
        return [Matcher.parse(v) for v in values]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--match") from None


def describe_rule(rule: Rule) -> str:
    params = rule.query.model_dump(mode="json", exclude={"kpi"}, exclude_none=True)
    c = rule.condition
    clear = f" (clears past {c.clear_threshold:g})" if c.clear_threshold is not None else ""
    lines = [
        f"{rule.name}  [{rule.severity.value}]",
        f"  kpi: {rule.kpi} {params}",
        f"  by: {', '.join(rule.group_by)}",
        f"  when: value {c.op.value} {c.threshold:g}{clear} for {format_duration(rule.for_)}"
        f", keep firing {format_duration(rule.keep_firing_for)}, no data: {rule.no_data.value}"
        f", schedule: {rule.schedule.value}",
        f"  summary (vi): {rule.annotations.summary.vi}",
        f"  summary (en): {rule.annotations.summary.en}",
    ]
    if rule.labels:
        lines.insert(3, f"  labels: {rule.labels}")
    return "\n".join(lines)


# -- ioc alert -------------------------------------------------------------------------------


@main.group("alert")
def alert() -> None:
    """The alerter: evaluate the rules, notify the subscribers."""


@alert.command("run")
@click.option("--once", is_flag=True, help="One pass (and its notifications), then exit.")
@click.option(
    "--rules",
    "rule_files",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="More rule files (besides the shipped rules and $IOC_ALERT_RULES).",
)
@click.option(
    "--subscribers",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Subscriber file (default: $IOC_ALERT_SUBSCRIBERS).",
)
@click.pass_context
def alert_run(
    ctx: click.Context, once: bool, rule_files: tuple[Path, ...], subscribers: Path | None
) -> None:
    """Evaluate the rules every IOC_ALERT_INTERVAL_SECONDS and notify (until SIGINT/SIGTERM)."""
    settings = configured(ctx)
    require_reachable_database(settings)
    from ioc.alerting.service import load_configuration, run_alerter

    try:
        rules, subs = load_configuration(settings, rules=rule_files, subscribers=subscribers)
    except ConfigError as exc:
        raise _config_error(exc) from None
    if not subs:
        click.echo(
            "no subscribers (IOC_ALERT_SUBSCRIBERS unset): alerts are evaluated and stored, "
            "nobody is notified",
            err=True,
        )
    try:
        asyncio.run(run_alerter(settings, rules, subs, once=once))
    except ConfigError as exc:
        raise _config_error(exc) from None


@alert.command("check-rules")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def alert_check_rules(files: tuple[Path, ...]) -> None:
    """Validate rule files (strictly) and print the rules they define."""
    try:
        rules = load_rules(files)
    except ConfigError as exc:
        raise _config_error(exc) from None
    for rule in rules:
        click.echo(describe_rule(rule))
    click.echo(f"{len(rules)} rule(s) OK")


@alert.command("check-subscribers")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def alert_check_subscribers(file: Path) -> None:
    """Validate a subscriber file (webhook secrets must be in the environment)."""
    from ioc.alerting.subscribers import load_subscribers

    try:
        subscribers = load_subscribers(file)
    except ConfigError as exc:
        raise _config_error(exc) from None
    for s in subscribers:
        channels = ", ".join(c.key for c in s.channels)
        matchers = ", ".join(str(m) for m in s.matchers) or "(every alert)"
        click.echo(f"{s.name}: {matchers} -> {channels}; group by {', '.join(s.group_by)}")
    click.echo(f"{len(subscribers)} subscriber(s) OK")


# -- ioc alerts ------------------------------------------------------------------------------


@main.group("alerts")
def alerts() -> None:
    """Current alerts, silences and acknowledgements."""


@alerts.command("list")
@click.option("--all", "show_all", is_flag=True, help="Also resolved alerts (last 24 h).")
@click.pass_context
def alerts_list(ctx: click.Context, show_all: bool) -> None:
    """Alerts now: firing and pending (and resolved with --all)."""
    dsn = require_reachable_database(configured(ctx))
    states = list(State) if show_all else [State.FIRING, State.PENDING]
    rows = _with_store(dsn, lambda store: store.alerts(states=states))
    order = {State.FIRING: 0, State.PENDING: 1, State.RESOLVED: 2, State.INACTIVE: 3}
    for a in sorted(rows, key=lambda a: (order[a.state], a.rule, a.province)):
        s = a.status
        since = s.firing_since if a.state is State.FIRING else s.active_since
        if a.state is State.RESOLVED:
            since = s.resolved_at
        flags = []
        if a.acked_by:
            flags.append(f"acked by {a.acked_by}")
        if a.silenced_by:
            flags.append(f"silenced by {str(a.silenced_by)[:8]}")
        value = "no data" if s.last_value is None else f"{s.last_value:.4g}"
        click.echo(
            f"{a.state.value:<8} {a.severity:<8} {a.rule:<32} {a.fingerprint[:8]}  "
            f"since {_local(since)}  value {value} (threshold {a.threshold:g})"
            + (f"  [{'; '.join(flags)}]" if flags else "")
        )
        click.echo(f"         {a.summary['vi']}")
    click.echo(f"{len(rows)} alert(s)")


@alerts.group("silence")
def silence() -> None:
    """Silences: no notification about the alerts they match, until they end."""


def _parse_until(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date and time such as 2026-11-20T17:00", param_hint="--until"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=VN_TZ)


@silence.command("add")
@click.option(
    "-m",
    "--match",
    "match",
    multiple=True,
    required=True,
    help='Label matcher, e.g. -m rule=payment-success-rate-low -m gateway=~"vnpay|momo".',
)
@click.option("--duration", default=None, help="How long, e.g. 2h, 30m (default 1h).")
@click.option("--until", "until", default=None, help="End time, ISO (local time if no zone).")
@click.option("--comment", default="", help="Why (shown by `silence list`).")
@click.option("--by", "by", default=None, help="Who (default: the login name).")
@click.pass_context
def silence_add(
    ctx: click.Context,
    match: tuple[str, ...],
    duration: str | None,
    until: str | None,
    comment: str,
    by: str | None,
) -> None:
    """Silence the alerts matching every -m matcher, from now."""
    dsn = require_reachable_database(configured(ctx))
    matchers = _matchers(match)
    now = SYSTEM_CLOCK.now()
    if duration and until:
        raise click.UsageError("give --duration or --until, not both")
    if until:
        ends = _parse_until(until)
    else:
        try:
            ends = now + (parse_duration(duration) if duration else timedelta(hours=1))
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--duration") from None
    if ends <= now:
        raise click.BadParameter("the silence would end before it starts", param_hint="--until")
    author = by or getpass.getuser()
    created = _with_store(
        dsn,
        lambda store: store.add_silence(
            matchers, starts_at=now, ends_at=ends, created_by=author, comment=comment
        ),
    )
    click.echo(f"silence {created.id} until {_local(created.ends_at)}")


@silence.command("list")
@click.option("--all", "show_all", is_flag=True, help="Also expired silences.")
@click.pass_context
def silence_list(ctx: click.Context, show_all: bool) -> None:
    """Active (and with --all, expired) silences."""
    dsn = require_reachable_database(configured(ctx))
    now = SYSTEM_CLOCK.now()
    rows = _with_store(dsn, lambda store: store.silences(now, include_expired=show_all))
    for s in rows:
        state = "active" if s.active(now) else ("pending" if s.starts_at > now else "expired")
        click.echo(
            f"{s.id}  {state:<7}  {_local(s.starts_at)} -> {_local(s.ends_at)}  "
            f"by {s.created_by}  {' '.join(str(m) for m in s.matchers)}"
            + (f"  # {s.comment}" if s.comment else "")
        )
    click.echo(f"{len(rows)} silence(s)")


@silence.command("expire")
@click.argument("silence_id")
@click.pass_context
def silence_expire(ctx: click.Context, silence_id: str) -> None:
    """End a silence now (its id, or the start of it)."""
    dsn = require_reachable_database(configured(ctx))
    now = SYSTEM_CLOCK.now()
    try:
        expired = _with_store(dsn, lambda store: store.expire_silence(silence_id, now))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if expired is None:
        raise click.ClickException(f"no active silence {silence_id!r}")
    click.echo(f"silence {expired.id} expired")


@alerts.command("ack")
@click.argument("rule", required=False)
@click.option("-m", "--match", "match", multiple=True, help="Only alerts matching these.")
@click.option("--fingerprint", default=None, help="One alert (its fingerprint, or its start).")
@click.option("--by", "by", default=None, help="Who (default: the login name).")
@click.option("--comment", default="", help="What is being done about it.")
@click.pass_context
def alerts_ack(
    ctx: click.Context,
    rule: str | None,
    match: tuple[str, ...],
    fingerprint: str | None,
    by: str | None,
    comment: str,
) -> None:
    """Acknowledge firing alerts: they are not repeated (their resolution is still sent)."""
    if rule is None and not match and fingerprint is None:
        raise click.UsageError("say which alerts: a RULE, -m matchers and/or --fingerprint")
    dsn = require_reachable_database(configured(ctx))
    matchers = _matchers(match)
    author = by or getpass.getuser()
    now = SYSTEM_CLOCK.now()
    acked = _with_store(
        dsn,
        lambda store: store.acknowledge(
            rule=rule,
            matchers=matchers,
            fingerprint=fingerprint,
            by=author,
            comment=comment,
            now=now,
        ),
    )
    if not acked:
        raise click.ClickException("no firing alert matches")
    for a in acked:
        click.echo(f"acknowledged {a.rule} {a.fingerprint[:8]}: {a.summary['vi']}")
