"""Rule and subscriber files: strict parsing, errors that name the rule and the field."""

from __future__ import annotations

import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from ioc.alerting.errors import RuleFileError, SubscriberFileError
from ioc.alerting.labels import Matcher
from ioc.alerting.rules import DEFAULT_RULES_FILE, Comparison, load_rules
from ioc.alerting.schedule import Schedule
from ioc.alerting.subscribers import WebhookChannel, load_subscribers
from ioc.cli import main
from tests.conftest import repo_root

EXAMPLE_SUBSCRIBERS = repo_root() / "alerts" / "subscribers.example.yml"
SECRETS = {
    "IOC_ALERT_WEBHOOK_SECRET_OPERATORS": "s1",
    "IOC_ALERT_WEBHOOK_SECRET_QUANG_NINH": "s2",
}

GOOD_RULE = """
  - name: pay-low
    kpi: payment_success_rate
    params: {window: 10m, min_attempts: 20}
    group_by: [province, gateway]
    condition: {op: "<", threshold: 0.95, clear_threshold: 0.97}
    for: 5m
    severity: critical
    annotations:
      summary: {vi: "Cổng {gateway}: {value}", en: "Gateway {gateway}: {value}"}
"""


def write(tmp_path: Path, text: str, name: str = "rules.yml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems_of(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(RuleFileError) as caught:
        load_rules([write(tmp_path, text)])
    return caught.value.problems


def rule_with(tmp_path: Path, old: str, new: str) -> list[str]:
    text = "rules:" + GOOD_RULE
    assert old in text
    return problems_of(tmp_path, text.replace(old, new))


def test_the_shipped_rules_load_and_cover_the_required_alerts():
    rules = {r.name: r for r in load_rules([DEFAULT_RULES_FILE])}
    assert set(rules) == {
        "payment-success-rate-low",
        "portal-down",
        "open-incidents-high",
        "dossiers-late-share-high",
        "flooding-reports-surge",
        "feed-silent",
        "feed-silent-dossier",
        "feed-silent-incident",
        "service-index-low",
    }
    index = rules["service-index-low"]
    assert (index.kpi, index.query.unit.value, index.group_by) == (
        "service_index", "points", ("province",))
    pay = rules["payment-success-rate-low"]
    assert (pay.kpi, pay.group_by) == ("payment_success_rate", ("province", "gateway"))
    assert (pay.condition.op, pay.condition.threshold) == (Comparison.LT, 0.85)
    assert pay.for_ == timedelta(minutes=5)
    portal = rules["portal-down"]
    assert portal.kpi == "dossier_submissions" and portal.group_by == ("province",)
    assert portal.schedule is Schedule.OFFICE_HOURS
    assert portal.query.lookback() == timedelta(minutes=15)
    assert rules["open-incidents-high"].group_by == ("province", "district")
    assert rules["dossiers-late-share-high"].group_by == ("province", "agency")
    assert rules["flooding-reports-surge"].condition.op is Comparison.GT
    silent = rules["feed-silent"]
    assert silent.group_by == ("province", "feed")
    assert silent.query.lookback() == timedelta(minutes=2)
    assert [rules[f"feed-silent{s}"].params.feeds for s in ("", "-dossier", "-incident")] == [
        ["payment"],
        ["dossier"],
        ["incident"],
    ]


def test_an_unknown_key_names_the_rule_and_the_field(tmp_path):
    problems = rule_with(
        tmp_path, "    severity: critical", "    severity: critical\n    colour: red"
    )
    assert problems == [f"{tmp_path / 'rules.yml'}: rule 'pay-low' (#1): colour: unknown field"]


def test_an_unknown_key_inside_a_block_names_its_path(tmp_path):
    problems = rule_with(tmp_path, "clear_threshold: 0.97", "clear_treshold: 0.97")
    assert problems == [
        f"{tmp_path / 'rules.yml'}: rule 'pay-low' (#1): condition.clear_treshold: unknown field"
    ]


def test_a_kpi_refuses_parameters_it_does_not_take(tmp_path):
    problems = rule_with(tmp_path, "min_attempts: 20", "min_atempts: 20")
    assert problems == [
        f"{tmp_path / 'rules.yml'}: rule 'pay-low' (#1): params.min_atempts: unknown field"
    ]
    problems = rule_with(tmp_path, "window: 10m", "window: 10 minutes")
    assert "rule 'pay-low' (#1): params.window: '10 minutes' is not a duration" in problems[0]
    problems = rule_with(tmp_path, "min_attempts: 20", "min_attempts: 0")
    assert "params.min_attempts: Input should be greater than or equal to 1" in problems[0]


def test_sql_cannot_come_from_the_rule_file(tmp_path):
    problems = rule_with(
        tmp_path, "min_attempts: 20", "min_attempts: 20, query: 'SELECT 1; DROP TABLE x'"
    )
    assert problems[0].endswith("params.query: unknown field")
    problems = rule_with(tmp_path, "[province, gateway]", "[province, 'gateway; DROP TABLE x']")
    assert "group_by: payment_success_rate cannot group by 'gateway; DROP TABLE x'" in problems[0]


def test_unknown_kpi_and_bad_grouping(tmp_path):
    problems = rule_with(tmp_path, "kpi: payment_success_rate", "kpi: payment_rate")
    assert len(problems) == 1 and "kpi: unknown KPI 'payment_rate'; known:" in problems[0]
    problems = rule_with(tmp_path, "[province, gateway]", "[province, feed]")
    assert (
        "rule 'pay-low' (#1): group_by: payment_success_rate cannot group by 'feed'"
        in (problems[0])
    )
    problems = rule_with(tmp_path, "[province, gateway]", "[gateway]")
    assert "group_by: must include `province`" in problems[0]


def test_a_clear_threshold_on_the_wrong_side_is_refused(tmp_path):
    problems = rule_with(tmp_path, "clear_threshold: 0.97", "clear_threshold: 0.90")
    assert "rule 'pay-low' (#1): condition: clear_threshold 0.9 must not be below" in problems[0]


def test_templates_use_only_names_the_rule_can_fill(tmp_path):
    problems = rule_with(tmp_path, "Cổng {gateway}: {value}", "Cổng {gateway}: {valeu}")
    assert "annotations.summary.vi: unknown placeholder {valeu}" in problems[0]
    problems = rule_with(tmp_path, "Gateway {gateway}", "Gateway {gateway.__class__}")
    assert "annotations.summary.en: placeholder {gateway.__class__}" in problems[0]
    problems = rule_with(tmp_path, "Cổng {gateway}", "Cổng {district_name}")
    assert "unknown placeholder {district_name}" in problems[0]  # not grouped by district


def test_labels_cannot_override_what_the_rule_sets(tmp_path):
    problems = rule_with(tmp_path, "    severity: critical", "    labels: {severity: low}")
    assert "labels: label 'severity' is set from the rule itself" in problems[0]
    problems = rule_with(tmp_path, "    severity: critical", "    labels: {gateway: x}")
    assert "labels: 'gateway' is already a group_by label" in problems[0]


def test_a_key_given_twice_is_an_error_with_its_line(tmp_path):
    problems = rule_with(tmp_path, "    for: 5m", "    for: 5m\n    for: 10m")
    assert problems == [
        f"{tmp_path / 'rules.yml'}: line 8, column 5: key 'for' appears twice in one mapping"
    ]


def test_rule_names_are_unique_across_files_and_a_directory_loads_its_files(tmp_path):
    write(tmp_path, "rules:" + GOOD_RULE, "a.yml")
    write(tmp_path, "rules:" + GOOD_RULE, "b.yaml")
    with pytest.raises(RuleFileError) as caught:
        load_rules([tmp_path])
    assert caught.value.problems == [
        f"{tmp_path / 'b.yaml'}: rule 'pay-low': name: already defined in {tmp_path / 'a.yml'}"
    ]
    (tmp_path / "b.yaml").unlink()
    assert [r.name for r in load_rules([tmp_path])] == ["pay-low"]


def test_the_file_itself_must_be_a_rules_list(tmp_path):
    assert problems_of(tmp_path, "alerts: []\n") == [
        f"{tmp_path / 'rules.yml'}: rules: required field is missing",
        f"{tmp_path / 'rules.yml'}: alerts: unknown field",
    ]


def test_check_rules_prints_the_rules_or_fails_with_every_problem(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["alert", "check-rules", str(DEFAULT_RULES_FILE)])
    assert result.exit_code == 0, result.output
    assert "9 rule(s) OK" in result.output and "portal-down  [critical]" in result.output
    bad = write(tmp_path, ("rules:" + GOOD_RULE).replace("for: 5m", "fro: 5m"))
    result = runner.invoke(main, ["alert", "check-rules", str(bad)])
    assert result.exit_code == 1
    assert "rule 'pay-low' (#1): fro: unknown field" in result.output


# -- subscribers ----------------------------------------------------------------------------------


def test_the_example_subscribers_load_when_their_secrets_are_set():
    subscribers = {s.name: s for s in load_subscribers(EXAMPLE_SUBSCRIBERS, SECRETS)}
    assert set(subscribers) == {
        "ioc-operators",
        "brvt-payments",
        "quang-ninh-field-reports",
        "alert-bus",
    }
    operators = subscribers["ioc-operators"]
    assert [c.type for c in operators.channels] == ["webhook", "email"]
    webhook = operators.channels[0]
    assert isinstance(webhook, WebhookChannel) and webhook.secret(SECRETS) == b"s1"
    assert subscribers["alert-bus"].group_by == ["..."]
    assert subscribers["brvt-payments"].channels[0].retry.attempts == 5


def test_a_missing_webhook_secret_is_an_error():
    with pytest.raises(SubscriberFileError) as caught:
        load_subscribers(EXAMPLE_SUBSCRIBERS, {})
    assert any(
        "subscriber 'ioc-operators' (#1): channels.webhook.secret_env: the environment variable "
        "IOC_ALERT_WEBHOOK_SECRET_OPERATORS is not set" in p
        for p in caught.value.problems
    )


def test_subscriber_files_are_strict_and_name_the_subscriber(tmp_path):
    path = write(
        tmp_path,
        """
        subscribers:
          - name: ops
            matchers: ["severity=critical", "province=~(binh-duong"]
            channels:
              - type: email
                to: [ops@example.vn]
                cc: [boss@example.vn]
              - type: pager
        """,
        "subscribers.yml",
    )
    with pytest.raises(SubscriberFileError) as caught:
        load_subscribers(path, {})
    text = "\n".join(caught.value.problems)
    assert (
        "subscriber 'ops' (#1): matchers[1]: 'province=~(binh-duong': bad regular expression"
        in (text)
    )
    assert "subscriber 'ops' (#1): channels[0].cc: unknown field" in text
    assert "subscriber 'ops' (#1): channels[1]: Input tag 'pager' found using 'type'" in text


def test_matchers_follow_alertmanager_syntax():
    labels = {"rule": "payment-success-rate-low", "province": "binh-duong", "severity": "critical"}
    assert Matcher.parse("severity=critical").matches(labels)
    assert Matcher.parse('rule=~"payment-.*"').matches(labels)
    assert not Matcher.parse("rule=~payment").matches(labels)  # anchored
    assert Matcher.parse("province!=quang-ninh").matches(labels)
    assert Matcher.parse("gateway!~vnpay|momo").matches(labels)  # absent label is ""
    assert Matcher.parse(str(Matcher.parse('rule=~"a|b"'))) == Matcher.parse("rule=~a|b")
    with pytest.raises(ValueError, match="is not a matcher"):
        Matcher.parse("severity")
