"""What every dashboard is built from: the datasource and the template variables, the panel
builders (stat, time series, table, bar gauge, bar and pie charts), thresholds and the stat
colours banded on each province's own targets (``banded``), the dashboard frame, and the
queries several dashboards share.
"""

from __future__ import annotations

from typing import Any

from ioc.domain.names import DISPLAY_NAMES

DATASOURCE = {"type": "grafana-postgresql-datasource", "uid": "ioc-timescaledb"}
TIMEZONE = "Asia/Ho_Chi_Minh"

PROVINCE = "${province:sqlstring}"
DISTRICTS = "${district:sqlstring}"
WHERE = f"province = {PROVINCE} AND district IN ({DISTRICTS})"
"""The filter of every query on a table with province and district columns."""

LOCAL_DAY = "date_bin(INTERVAL '1 day', bucket, TIMESTAMPTZ '2000-01-01 00:00:00+07')"
"""Local (UTC+7) calendar days from hourly buckets, for 30-day trends."""

# --------------------------------------------------------------------------------------------
# Vietnamese names for the codes stored in the events: the display_names table (loaded by
# `ioc db migrate` from ioc/domain/names.py), read in SQL so bar charts, pie charts and tables all
# show them
# --------------------------------------------------------------------------------------------


def label(column: str, kind: str) -> str:
    """``column``'s code shown by its Vietnamese name (the code itself when it has none)."""
    return f"vi_name('{kind}', {column})"


def order(column: str, kind: str) -> str:
    """The codes' display order, for ORDER BY."""
    return f"name_order('{kind}', {column})"


def sql(*lines: str) -> str:
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Panels
# --------------------------------------------------------------------------------------------

GREEN, ORANGE, RED, BLUE, PURPLE = "green", "orange", "red", "blue", "purple"


def thresholds(*steps: tuple[float | None, str]) -> dict[str, Any]:
    return {
        "mode": "absolute",
        "steps": [{"color": color, "value": value} for value, color in steps],
    }


def at_least(target: float, warn: float) -> dict[str, Any]:
    """Red below ``warn``, orange up to ``target``, green from ``target`` on."""
    return thresholds((None, RED), (warn, ORANGE), (target, GREEN))


def at_most(warn: float, bad: float) -> dict[str, Any]:
    """Green below ``warn``, orange up to ``bad``, red from ``bad`` on."""
    return thresholds((None, GREEN), (warn, ORANGE), (bad, RED))


def fixed(color: str) -> dict[str, Any]:
    return thresholds((None, color))


def target(raw_sql: str, fmt: str = "table", ref_id: str = "A") -> dict[str, Any]:
    return {
        "datasource": DATASOURCE,
        "editorMode": "code",
        "format": fmt,
        "rawQuery": True,
        "rawSql": raw_sql,
        "refId": ref_id,
    }


def panel(
    kind: str,
    title: str,
    description: str,
    raw_sql: str,
    grid: tuple[int, int, int, int],
    *,
    fmt: str = "table",
    unit: str | None = None,
    steps: dict[str, Any] | None = None,
    decimals: int | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    options: dict[str, Any] | None = None,
    custom: dict[str, Any] | None = None,
    overrides: list[dict[str, Any]] | None = None,
    color: dict[str, Any] | None = None,
    interval: str | None = None,
    time_from: str | None = None,
    config_sql: str | None = None,
) -> dict[str, Any]:
    """A panel; ``config_sql`` (refId B) returns a ``color`` that Grafana's "Config from query
    results" transformation gives the value of refId A (the stat colour bands)."""
    x, y, w, h = grid
    defaults: dict[str, Any] = {
        "color": color or {"mode": "thresholds"},
        "thresholds": steps or fixed(BLUE),
        "mappings": [],
    }
    if unit:
        defaults["unit"] = unit
    if decimals is not None:
        defaults["decimals"] = decimals
    if minimum is not None:
        defaults["min"] = minimum
    if maximum is not None:
        defaults["max"] = maximum
    if custom:
        defaults["custom"] = custom
    result: dict[str, Any] = {
        "datasource": DATASOURCE,
        "description": description,
        "fieldConfig": {"defaults": defaults, "overrides": overrides or []},
        "gridPos": {"h": h, "w": w, "x": x, "y": y},
        "options": options or {},
        "targets": [target(raw_sql, fmt)],
        "title": title,
        "type": kind,
    }
    if config_sql:
        result["targets"].append(target(config_sql, "table", "B"))
        result["transformations"] = [
            {
                "id": "configFromData",
                "options": {
                    "configRefId": "B",
                    "mappings": [
                        {"fieldName": "color", "handlerKey": "color", "reducerId": "lastNotNull"}
                    ],
                },
            }
        ]
    if interval:
        result["interval"] = interval
    if time_from:
        result["timeFrom"] = time_from
        result["hideTimeOverride"] = False
    return result


def stat(
    title: str,
    description: str,
    raw_sql: str,
    grid: tuple[int, int, int, int],
    *,
    text_mode: str = "value",
    value_size: int = 72,
    **kwargs: Any,
) -> dict[str, Any]:
    options = {
        "colorMode": "background",
        "graphMode": "none",
        "justifyMode": "center",
        "orientation": "auto",
        "percentChangeColorMode": "standard",
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "showPercentChange": False,
        "text": {"titleSize": 22, "valueSize": value_size},
        "textMode": text_mode,
        "wideLayout": True,
    }
    return panel("stat", title, description, raw_sql, grid, options=options, **kwargs)


LEGEND = {"calcs": [], "displayMode": "list", "placement": "bottom", "showLegend": True}
TOOLTIP = {"mode": "multi", "sort": "desc"}


def timeseries(
    title: str, description: str, raw_sql: str, grid: tuple[int, int, int, int], **kwargs: Any
) -> dict[str, Any]:
    kwargs.setdefault("fmt", "time_series")
    custom = {
        "drawStyle": "line",
        "fillOpacity": 12,
        "gradientMode": "opacity",
        "lineInterpolation": "smooth",
        "lineWidth": 3,
        "showPoints": "never",
        "spanNulls": False,
    }
    return panel(
        "timeseries",
        title,
        description,
        raw_sql,
        grid,
        options={"legend": LEGEND, "tooltip": TOOLTIP},
        custom=custom,
        color={"mode": "palette-classic"},
        **kwargs,
    )


def table(
    title: str,
    description: str,
    raw_sql: str,
    grid: tuple[int, int, int, int],
    **kwargs: Any,
) -> dict[str, Any]:
    options = {"cellHeight": "md", "showHeader": True}
    return panel(
        "table",
        title,
        description,
        raw_sql,
        grid,
        options=options,
        custom={"align": "auto", "cellOptions": {"type": "auto"}, "inspect": False},
        **kwargs,
    )


def bargauge(
    title: str, description: str, raw_sql: str, grid: tuple[int, int, int, int], **kwargs: Any
) -> dict[str, Any]:
    options = {
        "displayMode": "gradient",
        "maxVizHeight": 48,
        "minVizHeight": 24,
        "minVizWidth": 8,
        "namePlacement": "left",
        "orientation": "horizontal",
        "reduceOptions": {"calcs": [], "fields": "", "values": True},
        "showUnfilled": True,
        "sizing": "auto",
        "text": {"titleSize": 18, "valueSize": 24},
        "valueMode": "color",
    }
    return panel("bargauge", title, description, raw_sql, grid, options=options, **kwargs)


def barchart(
    title: str,
    description: str,
    raw_sql: str,
    grid: tuple[int, int, int, int],
    *,
    x_field: str,
    stacking: str = "none",
    **kwargs: Any,
) -> dict[str, Any]:
    options = {
        "barRadius": 0.1,
        "barWidth": 0.8,
        "fullHighlight": False,
        "groupWidth": 0.75,
        "legend": LEGEND,
        "orientation": "horizontal",
        "showValue": "auto",
        "stacking": stacking,
        "tooltip": TOOLTIP,
        "xField": x_field,
        "xTickLabelRotation": 0,
        "xTickLabelSpacing": 0,
    }
    return panel(
        "barchart",
        title,
        description,
        raw_sql,
        grid,
        options=options,
        color={"mode": "palette-classic"},
        custom={"fillOpacity": 80, "gradientMode": "none", "lineWidth": 1},
        **kwargs,
    )


def piechart(
    title: str, description: str, raw_sql: str, grid: tuple[int, int, int, int], **kwargs: Any
) -> dict[str, Any]:
    options = {
        "displayLabels": ["percent"],
        "legend": {
            "displayMode": "table",
            "placement": "right",
            "showLegend": True,
            "values": ["value", "percent"],
        },
        "pieType": "donut",
        "reduceOptions": {"calcs": [], "fields": "", "values": True},
        "tooltip": {"mode": "single", "sort": "none"},
    }
    return panel(
        "piechart",
        title,
        description,
        raw_sql,
        grid,
        options=options,
        color={"mode": "palette-classic"},
        **kwargs,
    )


def override(name: str, **properties: Any) -> dict[str, Any]:
    ids = {
        "unit": "unit",
        "thresholds": "thresholds",
        "color": "color",
        "decimals": "decimals",
        "cell": "custom.cellOptions",
        "width": "custom.width",
        "min": "min",
        "max": "max",
        "mappings": "mappings",
    }
    return {
        "matcher": {"id": "byName", "options": name},
        "properties": [{"id": ids[k], "value": v} for k, v in properties.items()],
    }


def colored_cells(name: str, steps: dict[str, Any], unit: str | None = None) -> dict[str, Any]:
    extra = {"unit": unit} if unit else {}
    return override(
        name,
        **extra,
        thresholds=steps,
        color={"mode": "thresholds"},
        cell={"type": "color-background", "mode": "basic"},
    )


def series_color(name: str, color: str) -> dict[str, Any]:
    return override(name, color={"fixedColor": color, "mode": "fixed"})


# --------------------------------------------------------------------------------------------
# Dashboard frame: variables, annotations, links
# --------------------------------------------------------------------------------------------

PROVINCE_QUERY = "SELECT code AS __value, name_vi AS __text FROM provinces ORDER BY name"
DISTRICT_QUERY = (
    "SELECT code AS __value, name_vi AS __text FROM districts "
    f"WHERE province = {PROVINCE} ORDER BY name"
)


def variables() -> list[dict[str, Any]]:
    return [
        {
            "current": {"text": "Bà Rịa - Vũng Tàu", "value": "ba-ria-vung-tau"},
            "datasource": DATASOURCE,
            "description": "Tỉnh được hiển thị (mỗi lần một tỉnh).",
            "hide": 0,
            "includeAll": False,
            "label": "Tỉnh",
            "multi": False,
            "name": "province",
            "options": [],
            "query": PROVINCE_QUERY,
            "refresh": 1,
            "skipUrlSync": False,
            "sort": 0,
            "type": "query",
        },
        {
            "current": {"text": ["All"], "value": ["$__all"]},
            "datasource": DATASOURCE,
            "description": "Các đơn vị cấp huyện của tỉnh (một, nhiều, hoặc tất cả).",
            "hide": 0,
            "includeAll": True,
            "label": "Huyện / thành phố",
            "multi": True,
            "name": "district",
            "options": [],
            "query": DISTRICT_QUERY,
            "refresh": 1,
            "skipUrlSync": False,
            "sort": 0,
            "type": "query",
        },
    ]


def alert_annotation(state: str, name: str, color: str) -> dict[str, Any]:
    raw = sql(
        "SELECT time, summary AS text, concat_ws(',', severity, rule) AS tags",
        "FROM alert_events",
        f"WHERE $__timeFilter(time) AND state_to = '{state}' AND province = {PROVINCE}",
        f"  AND (district IS NULL OR district IN ({DISTRICTS}))",
        "ORDER BY time",
    )
    return {
        "datasource": DATASOURCE,
        "enable": True,
        "hide": False,
        "iconColor": color,
        "name": name,
        "target": {
            "editorMode": "code",
            "format": "table",
            "rawQuery": True,
            "rawSql": raw,
            "refId": "Anno",
        },
    }


def dashboard(
    uid: str,
    title: str,
    description: str,
    panels: list[dict[str, Any]],
    *,
    time_from: str,
    annotations: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    for number, item in enumerate(panels, start=1):
        item["id"] = number
    return {
        "annotations": {"list": annotations or []},
        "description": description,
        "editable": False,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "links": [
            {
                "asDropdown": False,
                "icon": "external link",
                "includeVars": True,
                "keepTime": True,
                "tags": ["ioc"],
                "targetBlank": False,
                "title": "IOC",
                "tooltip": "",
                "type": "dashboards",
                "url": "",
            }
        ],
        "liveNow": False,
        "panels": panels,
        "refresh": "30s",
        "schemaVersion": 39,
        "tags": ["ioc"],
        "templating": {"list": variables()},
        "time": {"from": time_from, "to": "now"},
        "timepicker": {"refresh_intervals": ["10s", "30s", "1m", "5m", "15m", "1h"]},
        "timezone": TIMEZONE,
        "title": title,
        "uid": uid,
        "version": 1,
        "weekStart": "monday",
    }


# --------------------------------------------------------------------------------------------
# Stat colours from the province's own target
# --------------------------------------------------------------------------------------------


def banded(
    title: str,
    description: str,
    value_sql: str,
    kpi: str,
    grid: tuple[int, int, int, int],
    *,
    name: str,
    higher_is_better: bool = True,
    show: str = "value",
    **kwargs: Any,
) -> dict[str, Any]:
    """A stat coloured against the province's target for ``kpi`` (table province_targets).

    ``value_sql`` returns one row with ``value`` (a share), ``n`` (what it is measured on)
    and, with ``show``, the column to display. Its colour is kpi_band(): green within 2 points
    of the target plus 3 standard errors of a share of ``n`` items (sampling noise alone does
    not leave the green band), orange up to 5 points beyond, red further; Grafana's "Config
    from query results" gives it to the displayed value (refId B -> refId A).
    """
    direction = "true" if higher_is_better else "false"
    band = (
        f"SELECT kpi_band(v.value, province_target({PROVINCE}, '{kpi}'), v.n::bigint, "
        f"{direction}) AS color FROM ({value_sql}) AS v"
    )
    shown = f'SELECT v.{show} AS "{name}" FROM ({value_sql}) AS v'
    band_note = (
        " Màu: xanh khi chỉ số nằm trong dải mục tiêu của tỉnh (±2 điểm cộng 3 lần sai số "
        "chọn mẫu), cam khi kém hơn tới 5 điểm, đỏ khi kém hơn nữa; mục tiêu lấy từ bảng "
        "province_targets (số liệu công bố của tỉnh hoặc giả định đã nêu)."
    )
    return stat(title, description + band_note, shown, grid, config_sql=band, **kwargs)


# --------------------------------------------------------------------------------------------
# What several dashboards query
# --------------------------------------------------------------------------------------------

PERIOD_KPIS = f"dossier_period_kpis({PROVINCE}, ARRAY[{DISTRICTS}], $__timeFrom(), $__timeTo())"
ON_TIME_DESCRIPTION = (
    "Tỷ lệ đúng hạn = 100% - tỷ lệ trễ hạn, theo công thức của Cổng dịch vụ công: tỷ lệ trễ "
    "hạn = (hồ sơ trễ hạn đang giải quyết + hồ sơ trễ hạn đã giải quyết) / (hồ sơ tiếp nhận "
    "trong kỳ + hồ sơ kỳ trước chuyển sang). Tính bằng hàm dossier_period_kpis() từ bảng tổng "
    "hợp theo giờ và hồ sơ đang tồn."
)
INDEX = f"service_index_scores({PROVINCE}, $__timeFrom(), $__timeTo())"
INDEX_DESCRIPTION = (
    "Bộ chỉ số phục vụ người dân, doanh nghiệp theo Quyết định 766/QĐ-TTg (thang 100 điểm: "
    "công khai, minh bạch 18; tiến độ, kết quả giải quyết 20; số hóa hồ sơ 22; cung cấp dịch "
    "vụ trực tuyến 22; mức độ hài lòng 18), tính từ dữ liệu trong 30 ngày gần nhất bằng hàm "
    "service_index_scores(). Các tiêu chí thành phần về thủ tục (công bố, công khai, cung cấp "
    "trực tuyến) lấy theo số liệu của tỉnh; phản ánh hiện trường thay cho phản ánh, kiến nghị "
    "(xem README)."
)
INDEX_BANDS = thresholds((None, RED), (70, ORANGE), (80, GREEN))
"""The index's colours (an assumption: 80 points and more is good, under 70 behind)."""
FIELD_REPORT_KPIS = (
    f"field_report_kpis({PROVINCE}, ARRAY[{DISTRICTS}], $__timeFrom(), $__timeTo())"
)

PAYMENT_SUCCESS = sql(
    "SELECT sum(succeeded)::float8 / nullif(sum(succeeded + failed), 0) AS value,",
    "       sum(succeeded + failed) AS n",
    "FROM payment_gateways_1h",
    f"WHERE $__timeFilter(bucket) AND {WHERE}",
)
"""Payment success rate (success over success + failed) and the attempts it is taken over."""

DOSSIER_ON_TIME = f"SELECT on_time_rate AS value, received + carried_over AS n FROM {PERIOD_KPIS}"
"""The period's on-time rate (the portal's formula) and the dossiers it is taken over."""

OVERDUE_REPORTS = sql(
    "SELECT count(*) FILTER (WHERE overdue) AS overdue,",
    "       avg(overdue::int)::float8 AS value, count(*) AS n",
    f"FROM incident_backlog WHERE {WHERE}",
)
"""Open field reports past their deadline, and their share of the open ones."""

OPEN_REPORTS = f'SELECT count(*) AS "Đang mở" FROM incident_backlog WHERE {WHERE}'
"""Field reports open now (not resolved, not rejected)."""


SEVERITY_COLORS = {"critical": RED, "warning": ORANGE, "info": BLUE}


def severity_cells(column: str) -> dict[str, Any]:
    """The alert list's severity column: red, orange or blue by the Vietnamese severity."""
    names = DISPLAY_NAMES["severity"]
    mappings = [
        {
            "options": {
                names[code].vi: {"color": color, "index": i, "text": names[code].vi}
                for i, (code, color) in enumerate(SEVERITY_COLORS.items())
            },
            "type": "value",
        }
    ]
    return override(
        column,
        mappings=mappings,
        color={"mode": "fixed", "fixedColor": "text"},
        cell={"type": "color-background", "mode": "basic"},
    )


AGENCY_KPIS = f"dossier_agency_kpis({PROVINCE}, ARRAY[{DISTRICTS}], $__timeFrom(), $__timeTo())"
RATES = f"service_index_rates({PROVINCE}, $__timeFrom(), $__timeTo())"
