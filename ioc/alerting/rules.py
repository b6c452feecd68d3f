"""Alert rules: the YAML model, parsed strictly.

A rule file is ``rules:`` followed by a list of rules (see ``alerts/rules.yml``, the shipped
default, which is also the commented reference of the format). Parsing is strict, as
Alertmanager's ``yaml.UnmarshalStrict``: an unknown key, a key given twice, an unknown KPI,
a KPI parameter it does not take, a ``group_by`` label it cannot group by, a clear threshold
on the wrong side or a template placeholder the rule cannot fill is an error, and each
error names the file, the rule and the field::

    alerts/rules.yml: rule 'payment-success-rate-low' (#1): condition.opp: unknown field

A rule picks a KPI from the registry in ``ioc.alerting.kpis`` and gives its parameters; it
never carries SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ioc.alerting.errors import RuleFileError
from ioc.alerting.kpis import KPIS, AnyKpi, KpiQuery
from ioc.alerting.labels import LABEL_NAME
from ioc.alerting.schedule import Schedule
from ioc.alerting.templates import check_template
from ioc.alerting.yamlfile import error_message, field_path, load_yaml
from ioc.domain.names import LABEL_KINDS
from ioc.durations import Duration

DEFAULT_RULES_FILE = Path(__file__).resolve().parent.parent.parent / "alerts" / "rules.yml"

RuleName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
"""Lower-case slug: it is also an MQTT topic segment (no '/', '+', '#')."""
LabelValue = Annotated[str, Field(min_length=1, max_length=128)]

RESERVED_LABELS = frozenset({"rule", "severity"})
"""Labels every alert has, set from the rule: they cannot be overridden."""

TEMPLATE_FIELDS = frozenset(
    {
        "value",
        "threshold",
        "clear_threshold",
        "op",
        "rule",
        "severity",
        "since",
        "window",
        "province_name",
    }
)
"""Placeholders every rule's annotations may use (besides its labels and KPI context)."""


class Comparison(StrEnum):
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="

    def holds(self, value: float, threshold: float) -> bool:
        if self is Comparison.LT:
            return value < threshold
        if self is Comparison.LE:
            return value <= threshold
        if self is Comparison.GT:
            return value > threshold
        return value >= threshold

    @property
    def below(self) -> bool:
        return self in (Comparison.LT, Comparison.LE)


class NoDataPolicy(StrEnum):
    OK = "ok"  # no data: the condition is not met (a firing alert resolves)
    ALERTING = "alerting"  # no data: the condition is met
    KEEP = "keep"  # no data: the alert stays as it is, timers included


class Severity(StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Strict):
    op: Comparison
    threshold: float
    clear_threshold: float | None = Field(
        default=None,
        description="Hysteresis: a firing alert stays firing until the value is past this.",
    )

    @model_validator(mode="after")
    def _clear_on_the_safe_side(self) -> Condition:
        if self.clear_threshold is None:
            return self
        if self.op.below and self.clear_threshold < self.threshold:
            raise ValueError(
                f"clear_threshold {self.clear_threshold} must not be below threshold "
                f"{self.threshold} for op '{self.op}': the alert clears once the value is back "
                "above clear_threshold"
            )
        if not self.op.below and self.clear_threshold > self.threshold:
            raise ValueError(
                f"clear_threshold {self.clear_threshold} must not be above threshold "
                f"{self.threshold} for op '{self.op}': the alert clears once the value is back "
                "below clear_threshold"
            )
        return self

    def met(self, value: float) -> bool:
        """The firing condition."""
        return self.op.holds(value, self.threshold)

    def still_met(self, value: float) -> bool:
        """While firing: the condition with the clear threshold (hysteresis)."""
        return self.op.holds(
            value, self.threshold if self.clear_threshold is None else self.clear_threshold
        )


class Text(_Strict):
    vi: Annotated[str, Field(min_length=1, max_length=2000)]
    en: Annotated[str, Field(min_length=1, max_length=2000)]


class Annotations(_Strict):
    summary: Text
    description: Text | None = None


class Rule(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: RuleName
    kpi: str = Field(description="A KPI of the registry (ioc/alerting/kpis.py).")
    params: AnyKpi
    group_by: tuple[str, ...]
    condition: Condition
    for_: Duration = Field(default=timedelta(0), alias="for")
    keep_firing_for: Duration = timedelta(0)
    no_data: NoDataPolicy = NoDataPolicy.OK
    schedule: Schedule = Schedule.ALWAYS
    severity: Severity = Severity.WARNING
    labels: dict[str, LabelValue] = Field(default_factory=dict)
    annotations: Annotations

    @model_validator(mode="before")
    @classmethod
    def _params_of_the_kpi(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        kpi = data.get("kpi")
        params = data.get("params", {})
        if params is None:
            params = {}
        if isinstance(params, dict):
            if "kpi" in params:
                raise ValueError("params.kpi: unknown field (name the KPI in `kpi:`)")
            data["params"] = {"kpi": kpi, **params}
        if data.get("group_by") is None:  # the KPI's default (an unknown KPI is reported once)
            known = isinstance(kpi, str) and kpi in KPIS
            data["group_by"] = KPIS[kpi].default_group_by if known else ()
        return data

    @field_validator("kpi")
    @classmethod
    def _known_kpi(cls, value: str) -> str:
        if value not in KPIS:
            raise ValueError(f"unknown KPI {value!r}; known: {', '.join(sorted(KPIS))}")
        return value

    @field_validator("labels")
    @classmethod
    def _label_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not LABEL_NAME.match(name):
                raise ValueError(f"label name {name!r} is not lower_snake_case")
            if name in RESERVED_LABELS:
                raise ValueError(f"label {name!r} is set from the rule itself")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Rule:
        kpi = self.params
        if not self.group_by:
            raise ValueError("group_by: must name at least `province`")
        unknown = [label for label in self.group_by if label not in kpi.labels]
        if unknown:
            raise ValueError(
                f"group_by: {self.kpi} cannot group by {unknown[0]!r}; "
                f"it can group by {', '.join(kpi.labels)}"
            )
        if "province" not in self.group_by:
            raise ValueError("group_by: must include `province` (every alert is a province's)")
        if len(set(self.group_by)) != len(self.group_by):
            raise ValueError("group_by: a label appears twice")
        clash = set(self.labels) & set(self.group_by)
        if clash:
            raise ValueError(f"labels: {sorted(clash)[0]!r} is already a group_by label")
        allowed = self.template_fields()
        texts = [("summary", self.annotations.summary)]
        if self.annotations.description:
            texts.append(("description", self.annotations.description))
        for field, text in texts:
            for language in ("vi", "en"):
                try:
                    check_template(getattr(text, language), allowed)
                except ValueError as exc:
                    raise ValueError(f"annotations.{field}.{language}: {exc}") from None
        return self

    @property
    def query(self) -> KpiQuery:
        return self.params

    def template_fields(self) -> set[str]:
        fields = set(TEMPLATE_FIELDS) | set(self.group_by) | set(self.labels)
        fields |= set(self.params.context)
        if "district" in self.group_by:
            fields.add("district_name")
        fields |= {f"{label}_name" for label in self.group_by if label in LABEL_KINDS}
        return fields


class RuleFile(_Strict):
    rules: list[dict[str, Any]]


def _rule_paths(paths: Iterable[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            found += sorted(p for p in path.iterdir() if p.suffix in (".yml", ".yaml"))
        else:
            found.append(path)
    return found


def parse_rules(data: Any, source: str) -> tuple[list[Rule], list[str]]:
    """Validate one file's parsed YAML; returns the valid rules and the problems found."""
    problems: list[str] = []
    try:
        file = RuleFile.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            where = field_path(error["loc"])
            problems.append(f"{source}: {where + ': ' if where else ''}{error_message(error)}")
        return [], problems
    rules = []
    for index, raw in enumerate(file.rules):
        name = raw.get("name")
        label = f"rule {name!r} (#{index + 1})" if name else f"rule #{index + 1}"
        try:
            rules.append(Rule.model_validate(raw))
        except ValidationError as exc:
            kpi = raw.get("kpi")
            skip = frozenset({kpi}) if isinstance(kpi, str) else frozenset()
            for error in exc.errors():
                where = field_path(error["loc"], skip)
                if error["type"] == "union_tag_invalid":
                    continue  # reported once, on the `kpi` field
                prefix = f"{where}: " if where else ""
                problems.append(f"{source}: {label}: {prefix}{error_message(error)}")
    return rules, problems


def load_rules(paths: Sequence[Path]) -> list[Rule]:
    """Load and validate rule files (a directory means its *.yml files); names are unique.

    Raises ``RuleFileError`` listing every problem of every file.
    """
    problems: list[str] = []
    rules: list[Rule] = []
    where: dict[str, str] = {}
    for path in _rule_paths(paths):
        try:
            data = load_yaml(path)
        except ValueError as exc:
            problems.append(str(exc))
            continue
        found, file_problems = parse_rules(data, str(path))
        problems += file_problems
        for rule in found:
            if rule.name in where:
                problems.append(
                    f"{path}: rule {rule.name!r}: name: already defined in {where[rule.name]}"
                )
                continue
            where[rule.name] = str(path)
            rules.append(rule)
    if problems:
        raise RuleFileError(problems)
    return rules
