"""Generate the IOC wall-screen dashboards: ``python grafana/build_dashboards.py``.

The dashboards are Python data here and JSON in ``grafana/dashboards/`` (committed; Grafana's
file provider reads them, see ``grafana/provisioning/dashboards/ioc.yml``). Re-run this after
changing it; tests/test_dashboards.py fails when the JSON is not what this file writes.

Every panel reads the rollups, backlogs and functions of ``db/migrations/0005_dashboards.sql``
and ``0008_province_realism.sql`` (TimescaleDB continuous aggregates of the same names in
production), the reference tables and the alerting views,
through the datasource ``ioc-timescaledb`` as the read-only role ``ioc_grafana``. Each
query filters on the template variables ``province`` (one province) and ``district``
(several, or All), and tests/test_panel_queries.py runs every one against a simulated
database with Grafana's macros expanded.

Layout for a wall screen: big stat panels coloured against each province's own targets (the
``province_targets`` table, with bands wider than sampling noise: ``banded``), few panels per
row, the provinces' time zone, refresh every 30 seconds, Vietnamese titles and descriptions,
codes shown by their Vietnamese names (``vi_name()`` over the ``display_names`` table).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ioc.domain.names import DISPLAY_NAMES

OUT_DIR = Path(__file__).resolve().parent / "dashboards"
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
# 1. IOC overview
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


def overview() -> dict[str, Any]:
    criteria = sql(
        f"SELECT {label('s.criterion', 'index_criterion')} || ' · ' || "
        "to_char(sum(s.points), 'FM990.0') || '/' || sum(s.max_points) || ' điểm' AS \"Tiêu chí\",",
        '       sum(s.points) / sum(s.max_points) AS "Đạt"',
        f"FROM service_index({PROVINCE}, $__timeFrom(), $__timeTo()) AS s",
        "WHERE s.agency_level IS NULL",
        "GROUP BY s.criterion",
        f"ORDER BY min({order('s.criterion', 'index_criterion')})",
    )
    fully_online = sql(
        "SELECT sum(submitted) FILTER (WHERE channel = 'fully_online')::float8",
        "       / nullif(sum(submitted) FILTER (WHERE channel IN ('fully_online', "
        "'partly_online')), 0) AS value,",
        "       sum(submitted) FILTER (WHERE channel IN ('fully_online', 'partly_online')) AS n",
        "FROM dossier_events_1h",
        f"WHERE $__timeFilter(bucket) AND {WHERE}",
    )
    fee_online = sql(
        "SELECT sum(succeeded) FILTER (WHERE channel = 'online')::float8",
        "       / nullif(sum(succeeded), 0) AS value, sum(succeeded) AS n",
        "FROM payment_sectors_1h",
        f"WHERE $__timeFilter(bucket) AND sector = 'public_service' AND {WHERE}",
    )
    utility_online = sql(
        "SELECT sum(succeeded) FILTER (WHERE channel = 'online')::float8",
        "       / nullif(sum(succeeded), 0) AS value, sum(succeeded) AS n",
        "FROM payment_sectors_1h",
        f"WHERE $__timeFilter(bucket) AND sector IN ('electricity', 'water', 'telecom') "
        f"AND {WHERE}",
    )
    on_time = f"SELECT on_time_rate AS value, received + carried_over AS n FROM {PERIOD_KPIS}"
    digitised = sql(
        "SELECT files_digitised AS value, dossiers AS n",
        f"FROM service_index_rates({PROVINCE}, $__timeFrom(), $__timeTo())",
        "WHERE agency_level IS NULL",
    )
    success = sql(
        "SELECT sum(succeeded)::float8 / nullif(sum(succeeded + failed), 0) AS value,",
        "       sum(succeeded + failed) AS n",
        "FROM payment_gateways_1h",
        f"WHERE $__timeFilter(bucket) AND {WHERE}",
    )
    overdue_reports = sql(
        "SELECT count(*) FILTER (WHERE overdue) AS overdue,",
        "       avg(overdue::int)::float8 AS value, count(*) AS n",
        f"FROM incident_backlog WHERE {WHERE}",
    )
    panels = [
        stat(
            "Chỉ số phục vụ người dân, doanh nghiệp (QĐ 766)",
            INDEX_DESCRIPTION + " Xanh từ 80 điểm, cam từ 70 điểm, đỏ dưới 70 (giả định).",
            f'SELECT total AS "Điểm" FROM {INDEX} WHERE agency_level IS NULL',
            (0, 0, 6, 7),
            decimals=1,
            steps=INDEX_BANDS,
            time_from="30d",
            minimum=0,
            maximum=100,
        ),
        bargauge(
            "Năm nhóm tiêu chí (QĐ 766)",
            "Điểm đạt của từng nhóm tiêu chí trên điểm tối đa, 30 ngày gần nhất. "
            + INDEX_DESCRIPTION,
            criteria,
            (6, 0, 10, 7),
            unit="percentunit",
            minimum=0,
            maximum=1,
            decimals=0,
            steps=at_least(0.85, 0.70),
            time_from="30d",
        ),
        table(
            "Chỉ số 766 theo cấp",
            "Điểm của tỉnh và của từng cấp giải quyết (sở, ngành; UBND cấp huyện; UBND cấp xã) "
            "theo năm nhóm tiêu chí, 30 ngày gần nhất. Phản ánh hiện trường không chia theo cấp: "
            "mỗi cấp mang số liệu phản ánh của toàn tỉnh.",
            sql(
                "SELECT CASE WHEN agency_level IS NULL THEN 'Toàn tỉnh' ELSE "
                f"{label('agency_level', 'agency_level')} END AS \"Cấp\",",
                '       publicity AS "Công khai (18)", progress AS "Tiến độ (20)",',
                '       digitisation AS "Số hóa (22)", online AS "Trực tuyến (22)",',
                '       satisfaction AS "Hài lòng (18)", total AS "Tổng (100)"',
                f"FROM {INDEX}",
                f"ORDER BY agency_level IS NOT NULL, {order('agency_level', 'agency_level')}",
            ),
            (16, 0, 8, 7),
            decimals=1,
            time_from="30d",
            overrides=[colored_cells("Tổng (100)", INDEX_BANDS)],
        ),
        banded(
            "Hồ sơ trực tuyến toàn trình",
            "Trong số hồ sơ nộp trực tuyến trong khoảng thời gian, tỷ lệ được xử lý trực tuyến "
            "toàn trình.",
            fully_online,
            "fully_online_share_of_online",
            (0, 7, 6, 6),
            name="Toàn trình",
            unit="percentunit",
            decimals=1,
            steps=fixed(BLUE),
        ),
        banded(
            "Thanh toán trực tuyến phí, lệ phí",
            "Tỷ lệ giao dịch nộp phí, lệ phí thủ tục hành chính thành công được thanh toán trực "
            "tuyến (Bà Rịa - Vũng Tàu đặt mục tiêu 80%).",
            fee_online,
            "online_payment_rate",
            (6, 7, 6, 6),
            name="Trực tuyến",
            unit="percentunit",
            decimals=1,
            steps=fixed(BLUE),
        ),
        banded(
            "Hồ sơ giải quyết đúng hạn",
            ON_TIME_DESCRIPTION,
            on_time,
            "dossier_on_time_rate",
            (12, 7, 6, 6),
            name="Đúng hạn",
            unit="percentunit",
            decimals=1,
            steps=fixed(BLUE),
        ),
        banded(
            "Hồ sơ tiếp nhận, xử lý điện tử",
            "Tỷ lệ hồ sơ nộp trong khoảng thời gian được tiếp nhận và xử lý điện tử: hồ sơ nộp "
            "trực tuyến và hồ sơ nộp trực tiếp được số hóa ngay khi tiếp nhận (Bình Dương công "
            "bố 99%).",
            digitised,
            "digitised_share",
            (18, 7, 6, 6),
            name="Điện tử",
            unit="percentunit",
            decimals=1,
            steps=fixed(BLUE),
        ),
        stat(
            "Phản ánh hiện trường đang mở",
            "Phản ánh đã tiếp nhận, chưa xử lý xong hoặc chưa từ chối, tại thời điểm hiện tại.",
            f'SELECT count(*) AS "Đang mở" FROM incident_backlog WHERE {WHERE}',
            (0, 13, 6, 6),
            steps=fixed(BLUE),
        ),
        banded(
            "Phản ánh quá hạn xử lý",
            "Số phản ánh đang mở đã quá hạn xử lý, tại thời điểm hiện tại; màu theo tỷ lệ quá "
            "hạn trên số phản ánh đang mở so với tỷ lệ trễ hạn cho phép (100% - mục tiêu xử lý "
            "đúng hạn).",
            overdue_reports,
            "incident_overdue_share",
            (6, 13, 6, 6),
            name="Quá hạn",
            show="overdue",
            higher_is_better=False,
            steps=fixed(BLUE),
        ),
        banded(
            "Giao dịch thanh toán thành công",
            "Giao dịch thành công / (thành công + thất bại) trong khoảng thời gian, mọi lĩnh "
            "vực và cổng thanh toán; mỗi giao dịch tính một lần theo kết quả cuối cùng (giao "
            "dịch chờ xử lý tính khi có kết quả, hoàn tiền không tính).",
            success,
            "payment_success_rate",
            (12, 13, 6, 6),
            name="Thành công",
            unit="percentunit",
            decimals=1,
            steps=fixed(BLUE),
        ),
        banded(
            "Thanh toán điện, nước, viễn thông trực tuyến",
            "Tỷ lệ giao dịch thanh toán tiền điện, nước, viễn thông thành công được thực hiện "
            "trực tuyến (Bà Rịa - Vũng Tàu: 50% người dân).",
            utility_online,
            "utility_online_share",
            (18, 13, 6, 6),
            name="Trực tuyến",
            unit="percentunit",
            decimals=1,
            steps=fixed(BLUE),
        ),
        timeseries(
            "Luồng dữ liệu theo phút",
            "Số sự kiện lưu mỗi phút của từng luồng dữ liệu (hồ sơ TTHC, thanh toán, phản ánh "
            "hiện trường), từ bảng tổng hợp theo phút.",
            sql(
                "SELECT $__timeGroupAlias(bucket, $__interval), feed AS metric,",
                "       sum(events) * 60000.0 / $__interval_ms AS value",
                "FROM (",
                "    SELECT bucket, 'Hồ sơ TTHC' AS feed, events FROM dossier_events_1m",
                f"    WHERE $__timeFilter(bucket) AND {WHERE}",
                "    UNION ALL",
                "    SELECT bucket, 'Thanh toán', events FROM payment_events_1m",
                f"    WHERE $__timeFilter(bucket) AND {WHERE}",
                "    UNION ALL",
                "    SELECT bucket, 'Phản ánh hiện trường', events FROM incident_events_1m",
                f"    WHERE $__timeFilter(bucket) AND {WHERE}",
                ") AS flow",
                "GROUP BY 1, 2",
                "ORDER BY 1",
            ),
            (0, 19, 14, 10),
            fmt="time_series",
            unit="short",
            interval="1m",
        ),
        table(
            "Cảnh báo đang hoạt động",
            "Các cảnh báo đang kích hoạt tại tỉnh (view alerts_firing của bộ cảnh báo), nghiêm "
            "trọng và lâu nhất trước. Các lần chuyển trạng thái được vẽ thành chú thích trên "
            "các biểu đồ.",
            sql(
                'SELECT firing_since AS "Từ lúc",',
                f'       {label("severity", "severity")} AS "Mức độ",',
                '       coalesce(district_name, province_name) AS "Địa bàn",',
                '       summary AS "Nội dung",',
                "       CASE WHEN acknowledged THEN 'Đã tiếp nhận' WHEN silenced THEN 'Tạm ẩn' "
                "ELSE 'Mới' END AS \"Trạng thái\"",
                "FROM alerts_firing",
                f"WHERE province = {PROVINCE} AND (district IS NULL OR district IN ({DISTRICTS}))",
                f"ORDER BY {order('severity', 'severity')}, firing_since",
            ),
            (14, 19, 10, 10),
            overrides=[
                override("Từ lúc", unit="dateTimeFromNow", width=120),
                severity_cells("Mức độ"),
            ],
        ),
        table(
            "Theo địa bàn",
            "Theo từng đơn vị cấp huyện: hồ sơ tiếp nhận trong khoảng thời gian và quá hạn hiện "
            "tại, giao dịch thanh toán và tỷ lệ thành công trong khoảng thời gian, phản ánh "
            "đang mở và quá hạn hiện tại.",
            sql(
                'SELECT d.name_vi AS "Địa bàn",',
                '       coalesce(ds.received, 0) AS "Hồ sơ tiếp nhận",',
                '       coalesce(db.overdue, 0) AS "Hồ sơ quá hạn",',
                '       coalesce(p.payments, 0) AS "Giao dịch",',
                '       p.success_rate AS "Thanh toán thành công",',
                '       coalesce(i.open, 0) AS "Phản ánh đang mở",',
                '       coalesce(i.overdue, 0) AS "Phản ánh quá hạn"',
                "FROM districts AS d",
                "LEFT JOIN (",
                "    SELECT district, sum(received) AS received FROM dossier_events_1h",
                f"    WHERE $__timeFilter(bucket) AND {WHERE} GROUP BY district",
                ") AS ds ON ds.district = d.code",
                "LEFT JOIN (",
                "    SELECT district, count(*) FILTER (WHERE state = 'overdue') AS overdue",
                f"    FROM dossier_backlog WHERE {WHERE} GROUP BY district",
                ") AS db ON db.district = d.code",
                "LEFT JOIN (",
                "    SELECT district, sum(payments) AS payments,",
                "           sum(succeeded)::float8 / nullif(sum(succeeded + failed), 0) "
                "AS success_rate",
                "    FROM payment_gateways_1h",
                f"    WHERE $__timeFilter(bucket) AND {WHERE} GROUP BY district",
                ") AS p ON p.district = d.code",
                "LEFT JOIN (",
                "    SELECT district, count(*) AS open, count(*) FILTER (WHERE overdue) AS overdue",
                f"    FROM incident_backlog WHERE {WHERE} GROUP BY district",
                ") AS i ON i.district = d.code",
                f"WHERE d.province = {PROVINCE} AND d.code IN ({DISTRICTS})",
                "ORDER BY d.population DESC",
            ),
            (0, 29, 24, 11),
            overrides=[
                colored_cells("Thanh toán thành công", at_least(0.95, 0.90), "percentunit"),
                colored_cells(
                    "Hồ sơ quá hạn", thresholds((None, GREEN), (10, ORANGE), (40, RED))
                ),
                colored_cells(
                    "Phản ánh quá hạn", thresholds((None, GREEN), (3, ORANGE), (10, RED))
                ),
            ],
        ),
    ]
    return dashboard(
        "ioc-overview",
        "IOC - Tổng quan điều hành",
        "Màn hình tổng quan của IOC: Chỉ số phục vụ người dân, doanh nghiệp (QĐ 766) và năm "
        "nhóm tiêu chí, các chỉ tiêu chính so với mục tiêu của từng tỉnh, luồng dữ liệu trực "
        "tiếp của ba nguồn, cảnh báo đang hoạt động và bảng theo địa bàn.",
        panels,
        time_from="now-24h",
        annotations=[
            alert_annotation("firing", "Cảnh báo bắt đầu", RED),
            alert_annotation("resolved", "Cảnh báo kết thúc", GREEN),
        ],
    )


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


# --------------------------------------------------------------------------------------------
# 2. Public services (dịch vụ công)
# --------------------------------------------------------------------------------------------

AGENCY_KPIS = f"dossier_agency_kpis({PROVINCE}, ARRAY[{DISTRICTS}], $__timeFrom(), $__timeTo())"
RATES = f"service_index_rates({PROVINCE}, $__timeFrom(), $__timeTo())"


def public_services() -> dict[str, Any]:
    flows = [
        ("Tiếp nhận mới", "received", BLUE),
        ("Kỳ trước chuyển sang", "carried_over", PURPLE),
        ("Giải quyết trước hạn", "resolved_early", GREEN),
        ("Giải quyết đúng hạn", "resolved_on_time", "semi-dark-green"),
        ("Giải quyết trễ hạn", "resolved_late", RED),
        ("Từ chối / trả lại", "rejected", "text"),
    ]
    on_time = f"SELECT on_time_rate AS value, received + carried_over AS n FROM {PERIOD_KPIS}"
    overdue = sql(
        "SELECT overdue, overdue::float8 / nullif(in_progress + about_to_be_late + overdue, 0)",
        "       AS value, in_progress + about_to_be_late + overdue AS n",
        f"FROM {PERIOD_KPIS}",
    )

    def rate(column: str) -> str:
        return sql(
            f"SELECT {column} AS value, dossiers AS n FROM {RATES} WHERE agency_level IS NULL"
        )

    panels = [
        banded(
            "Tỷ lệ giải quyết đúng hạn",
            ON_TIME_DESCRIPTION,
            on_time,
            "dossier_on_time_rate",
            (0, 0, 6, 7),
            name="Đúng hạn",
            unit="percentunit",
            decimals=1,
            steps=fixed(BLUE),
        ),
        stat(
            "Tỷ lệ trễ hạn",
            "Tỷ lệ trễ hạn = (hồ sơ trễ hạn đang giải quyết + hồ sơ trễ hạn đã giải quyết) / "
            "(hồ sơ tiếp nhận trong kỳ + hồ sơ kỳ trước chuyển sang).",
            f'SELECT late_rate AS "Trễ hạn" FROM {PERIOD_KPIS}',
            (6, 0, 6, 7),
            unit="percentunit",
            decimals=2,
            steps=at_most(0.05, 0.10),
        ),
        stat(
            "Sắp trễ hạn (trong 24 giờ)",
            "Hồ sơ đang giải quyết sẽ đến hạn trong 24 giờ tới, tại thời điểm hiện tại: danh "
            "sách việc cần ưu tiên, không phải một vi phạm (màu cố định).",
            f'SELECT about_to_be_late AS "Sắp trễ hạn" FROM {PERIOD_KPIS}',
            (12, 0, 6, 7),
            steps=fixed(BLUE),
        ),
        banded(
            "Quá hạn, đang giải quyết",
            "Hồ sơ đang giải quyết đã quá hạn, tại thời điểm hiện tại (phần 'trễ hạn đang giải "
            "quyết' của công thức tỷ lệ trễ hạn); màu theo tỷ lệ quá hạn trên số hồ sơ đang "
            "giải quyết so với tỷ lệ trễ hạn cho phép (100% - mục tiêu đúng hạn).",
            overdue,
            "dossier_overdue_share",
            (18, 0, 6, 7),
            name="Quá hạn",
            show="overdue",
            higher_is_better=False,
            steps=fixed(BLUE),
        ),
        stat(
            "Hồ sơ trong kỳ",
            "Các thành phần của công thức tỷ lệ trễ hạn trong khoảng thời gian: tiếp nhận mới, "
            "kỳ trước chuyển sang (hồ sơ tồn khi kỳ bắt đầu), giải quyết trước hạn (sớm ít nhất "
            "một ngày), đúng hạn, trễ hạn, và từ chối.",
            sql(
                "SELECT " + ", ".join(f'{column} AS "{name}"' for name, column, _ in flows),
                f"FROM {PERIOD_KPIS}",
            ),
            (0, 7, 24, 5),
            text_mode="value_and_name",
            value_size=44,
            steps=fixed(BLUE),
            overrides=[
                override(name, color={"fixedColor": c, "mode": "fixed"}) for name, _, c in flows
            ],
        ),
        banded(
            "Tiếp nhận, xử lý điện tử",
            "Tỷ lệ hồ sơ nộp trong khoảng thời gian được tiếp nhận, xử lý điện tử (nộp trực "
            "tuyến, hoặc số hóa thành phần hồ sơ khi tiếp nhận tại bộ phận một cửa).",
            rate("files_digitised"),
            "digitised_share",
            (0, 12, 6, 6),
            name="Điện tử",
            unit="percentunit",
            decimals=1,
            steps=fixed(BLUE),
        ),
        banded(
            "Cấp kết quả điện tử",
            "Trong số hồ sơ giải quyết xong trong khoảng thời gian, tỷ lệ có kết quả giải quyết "
            "được cấp bản điện tử.",
            sql(
                f"SELECT result_digitised AS value, dossiers AS n FROM {RATES}",
                "WHERE agency_level IS NULL",
            ),
            "result_digitised_share",
            (6, 12, 6, 6),
            name="Kết quả điện tử",
            unit="percentunit",
            decimals=1,
            steps=fixed(BLUE),
        ),
        banded(
            "Đồng bộ lên Cổng DVC quốc gia",
            "Tỷ lệ hồ sơ có trạng thái được đồng bộ, công khai trên Cổng Dịch vụ công quốc gia "
            "để người dân tra cứu.",
            rate("status_published"),
            "status_published_share",
            (12, 12, 6, 6),
            name="Đồng bộ",
            unit="percentunit",
            decimals=1,
            steps=fixed(BLUE),
        ),
        banded(
            "Hài lòng trong giải quyết TTHC",
            "Tỷ lệ hài lòng theo QĐ 766: trong số hồ sơ giải quyết xong trong khoảng thời gian, "
            "tỷ lệ giải quyết đúng hạn và không bị người dân đánh giá 1-2 sao (trên 5).",
            rate("dossiers_satisfied"),
            "dossier_satisfaction",
            (18, 12, 6, 6),
            name="Hài lòng",
            unit="percentunit",
            decimals=1,
            steps=fixed(BLUE),
        ),
        timeseries(
            "Xu hướng 30 ngày",
            "Hồ sơ tiếp nhận, giải quyết đúng hạn (kể cả trước hạn), trễ hạn và từ chối theo "
            "từng ngày trong 30 ngày gần nhất.",
            sql(
                f"SELECT {LOCAL_DAY} AS time,",
                '       sum(received) AS "Tiếp nhận",',
                '       sum(resolved_early + resolved_on_time) AS "Giải quyết đúng hạn",',
                '       sum(resolved_late) AS "Giải quyết trễ hạn",',
                '       sum(rejected) AS "Từ chối"',
                "FROM dossier_events_1h",
                f"WHERE $__timeFilter(bucket) AND {WHERE}",
                "GROUP BY 1",
                "ORDER BY 1",
            ),
            (0, 18, 24, 9),
            fmt="time_series",
            time_from="30d",
            interval="1d",
            overrides=[
                series_color("Tiếp nhận", BLUE),
                series_color("Giải quyết đúng hạn", GREEN),
                series_color("Giải quyết trễ hạn", RED),
                series_color("Từ chối", "text"),
            ],
        ),
        barchart(
            "Theo cấp giải quyết",
            "Hồ sơ tiếp nhận và giải quyết trước hạn, đúng hạn, trễ hạn trong khoảng thời gian, "
            "theo cấp của cơ quan giải quyết (sở, ngành; cấp huyện; cấp xã).",
            sql(
                f'SELECT {label("agency_level", "agency_level")} AS "Cấp",',
                '       sum(received) AS "Tiếp nhận",',
                '       sum(resolved_early) AS "Trước hạn",',
                '       sum(resolved_on_time) AS "Đúng hạn",',
                '       sum(resolved_late) AS "Trễ hạn"',
                "FROM dossier_events_1h",
                f"WHERE $__timeFilter(bucket) AND {WHERE}",
                "GROUP BY agency_level",
                f"ORDER BY {order('agency_level', 'agency_level')}",
            ),
            (0, 27, 12, 9),
            x_field="Cấp",
            overrides=[
                series_color("Tiếp nhận", BLUE),
                series_color("Trước hạn", GREEN),
                series_color("Đúng hạn", "semi-dark-green"),
                series_color("Trễ hạn", RED),
            ],
        ),
        piechart(
            "Kênh tiếp nhận",
            "Hồ sơ tiếp nhận trong khoảng thời gian theo kênh: trực tuyến toàn trình, trực tuyến "
            "một phần, hoặc trực tiếp tại bộ phận một cửa.",
            sql(
                f'SELECT {label("channel", "dossier_channel")} AS "Kênh",',
                '       sum(received) AS "Hồ sơ"',
                "FROM dossier_events_1h",
                f"WHERE $__timeFilter(bucket) AND {WHERE}",
                "GROUP BY channel",
                f"ORDER BY {order('channel', 'dossier_channel')}",
            ),
            (12, 27, 12, 9),
        ),
        table(
            "Theo lĩnh vực",
            "Theo lĩnh vực thủ tục hành chính: hồ sơ tiếp nhận, giải quyết trước hạn, đúng hạn, "
            "trễ hạn, từ chối trong khoảng thời gian, và tỷ lệ đúng hạn trên số hồ sơ đã giải "
            "quyết. Đất đai, xây dựng, đầu tư là các lĩnh vực thường có nhiều hồ sơ trễ hạn.",
            sql(
                f'SELECT {label("sector", "dossier_sector")} AS "Lĩnh vực",',
                '       sum(received) AS "Tiếp nhận",',
                '       sum(resolved_early) AS "Trước hạn",',
                '       sum(resolved_on_time) AS "Đúng hạn",',
                '       sum(resolved_late) AS "Trễ hạn",',
                '       sum(rejected) AS "Từ chối",',
                "       sum(resolved_early + resolved_on_time)::float8",
                "           / nullif(sum(resolved_early + resolved_on_time + resolved_late), 0)",
                '           AS "Tỷ lệ đúng hạn"',
                "FROM dossier_sectors_1h",
                f"WHERE $__timeFilter(bucket) AND {WHERE}",
                "GROUP BY sector",
                "ORDER BY sum(received) DESC",
            ),
            (0, 36, 24, 11),
            overrides=[
                colored_cells("Tỷ lệ đúng hạn", at_least(0.95, 0.90), "percentunit"),
                override("Lĩnh vực", width=300),
            ],
        ),
        table(
            "Theo cơ quan giải quyết",
            "Theo từng cơ quan: hồ sơ tiếp nhận, kỳ trước chuyển sang, giải quyết trước hạn / "
            "đúng hạn / trễ hạn, sắp trễ hạn và quá hạn hiện tại, tỷ lệ đúng hạn theo công thức "
            "của Cổng dịch vụ công. Cơ quan có nhiều hồ sơ nhất trước.",
            sql(
                'SELECT agency_name AS "Cơ quan",',
                f'       {label("agency_level", "agency_level")} AS "Cấp",',
                '       received AS "Tiếp nhận", carried_over AS "Kỳ trước",',
                '       resolved_early AS "Trước hạn", resolved_on_time AS "Đúng hạn",',
                '       resolved_late AS "Trễ hạn", about_to_be_late AS "Sắp trễ hạn",',
                '       overdue AS "Quá hạn", on_time_rate AS "Tỷ lệ đúng hạn"',
                f"FROM {AGENCY_KPIS}",
                "ORDER BY received + carried_over DESC, agency_name",
                "LIMIT 100",
            ),
            (0, 47, 24, 13),
            overrides=[
                colored_cells("Tỷ lệ đúng hạn", at_least(0.95, 0.90), "percentunit"),
                colored_cells("Quá hạn", thresholds((None, GREEN), (3, ORANGE), (10, RED))),
                override("Cơ quan", width=360),
            ],
        ),
    ]
    return dashboard(
        "ioc-public-services",
        "IOC - Dịch vụ công trực tuyến",
        "Hồ sơ thủ tục hành chính: luồng và tồn của kỳ, tỷ lệ đúng hạn và trễ hạn theo công "
        "thức của Cổng dịch vụ công, số hóa và mức độ hài lòng, theo cơ quan, cấp, lĩnh vực và "
        "kênh tiếp nhận, xu hướng 30 ngày.",
        panels,
        time_from="now-30d",
        annotations=[alert_annotation("firing", "Cảnh báo", RED)],
    )


# --------------------------------------------------------------------------------------------
# 3. Payments
# --------------------------------------------------------------------------------------------


def payments() -> dict[str, Any]:
    success = sql(
        "SELECT sum(succeeded)::float8 / nullif(sum(succeeded + failed), 0) AS value,",
        "       sum(succeeded + failed) AS n",
        "FROM payment_gateways_1h",
        f"WHERE $__timeFilter(bucket) AND {WHERE}",
    )
    panels = [
        stat(
            "Số giao dịch",
            "Giao dịch thanh toán có kết quả (thành công hoặc thất bại) trong khoảng thời gian, "
            "mỗi giao dịch một lần.",
            sql(
                'SELECT sum(payments) AS "Giao dịch" FROM payment_gateways_1h',
                f"WHERE $__timeFilter(bucket) AND {WHERE}",
            ),
            (0, 0, 6, 6),
            unit="short",
            steps=fixed(BLUE),
        ),
        stat(
            "Giá trị thanh toán thành công",
            "Tổng giá trị các giao dịch thành công trong khoảng thời gian (đồng).",
            sql(
                'SELECT sum(amount_vnd) AS "Giá trị" FROM payment_sectors_1h',
                f"WHERE $__timeFilter(bucket) AND {WHERE}",
            ),
            (6, 0, 6, 6),
            unit="currencyVND",
            decimals=0,
            steps=fixed(PURPLE),
        ),
        stat(
            "Không dùng tiền mặt",
            "Tỷ lệ giao dịch thành công không dùng tiền mặt (chuyển khoản, mã QR, ví điện tử, "
            "thẻ), mọi lĩnh vực.",
            sql(
                'SELECT sum(cashless)::float8 / nullif(sum(succeeded), 0) AS "Không tiền mặt"',
                "FROM payment_sectors_1h",
                f"WHERE $__timeFilter(bucket) AND {WHERE}",
            ),
            (12, 0, 6, 6),
            unit="percentunit",
            decimals=1,
            steps=at_least(0.80, 0.50),
        ),
        banded(
            "Tỷ lệ giao dịch thành công",
            "Giao dịch thành công / (thành công + thất bại) trong khoảng thời gian.",
            success,
            "payment_success_rate",
            (18, 0, 6, 6),
            name="Thành công",
            unit="percentunit",
            decimals=1,
            steps=fixed(BLUE),
        ),
        timeseries(
            "Giao dịch theo phút",
            "Giao dịch thành công và thất bại mỗi phút (bảng tổng hợp theo phút).",
            sql(
                "SELECT $__timeGroupAlias(bucket, $__interval),",
                '       sum(succeeded) * 60000.0 / $__interval_ms AS "Thành công",',
                '       sum(failed) * 60000.0 / $__interval_ms AS "Thất bại"',
                "FROM payment_events_1m",
                f"WHERE $__timeFilter(bucket) AND {WHERE}",
                "GROUP BY 1",
                "ORDER BY 1",
            ),
            (0, 6, 16, 9),
            fmt="time_series",
            interval="1m",
            overrides=[series_color("Thành công", GREEN), series_color("Thất bại", RED)],
        ),
        piechart(
            "Phương thức thanh toán",
            "Giao dịch thành công trong khoảng thời gian theo phương thức.",
            sql(
                f'SELECT {label("method", "method")} AS "Phương thức",',
                '       sum(succeeded) AS "Giao dịch"',
                "FROM payment_methods_1h",
                f"WHERE $__timeFilter(bucket) AND {WHERE}",
                "GROUP BY method",
                f"ORDER BY {order('method', 'method')}",
            ),
            (16, 6, 8, 9),
        ),
        stat(
            "Đang chờ xử lý",
            "Giao dịch ngân hàng hoặc ví điện tử đã trả lời 'đang xử lý' và chưa có kết quả, "
            "tại thời điểm hiện tại (thường có kết quả sau vài phút đến vài giờ).",
            f'SELECT count(*) AS "Chờ xử lý" FROM payment_pending WHERE {WHERE}',
            (0, 15, 6, 6),
            steps=thresholds((None, BLUE), (200, ORANGE)),
        ),
        stat(
            "Hoàn tiền",
            "Giao dịch hoàn tiền trong khoảng thời gian (mỗi giao dịch hoàn tiền ghi rõ giao "
            "dịch gốc) và tổng số tiền hoàn.",
            sql(
                'SELECT sum(refunded) AS "Giao dịch", sum(refunded_vnd) AS "Số tiền hoàn"',
                "FROM payment_sectors_1h",
                f"WHERE $__timeFilter(bucket) AND {WHERE}",
            ),
            (6, 15, 6, 6),
            text_mode="value_and_name",
            value_size=36,
            steps=fixed(PURPLE),
            overrides=[override("Số tiền hoàn", unit="currencyVND", decimals=0)],
        ),
        table(
            "Chờ xử lý theo cổng",
            "Theo cổng thanh toán: số giao dịch đang chờ kết quả hiện tại và giao dịch chờ lâu "
            "nhất (phút), số giao dịch từng ở trạng thái chờ trong khoảng thời gian (ngân hàng "
            "hoặc ví trả lời 'đang xử lý', có kết quả sau vài phút đến vài giờ).",
            sql(
                f'SELECT {label("g.gateway", "gateway")} AS "Cổng thanh toán",',
                '       coalesce(p.waiting, 0) AS "Đang chờ",',
                '       p.oldest AS "Lâu nhất (phút)",',
                '       g.pending AS "Từng chờ trong kỳ"',
                "FROM (",
                "    SELECT gateway, sum(pending) AS pending FROM payment_gateways_1h",
                f"    WHERE $__timeFilter(bucket) AND {WHERE} GROUP BY gateway",
                ") AS g",
                "LEFT JOIN (",
                "    SELECT gateway, count(*) AS waiting,",
                "           max(extract(epoch FROM age)) / 60 AS oldest",
                f"    FROM payment_pending WHERE {WHERE} GROUP BY gateway",
                ") AS p ON p.gateway = g.gateway",
                "WHERE g.pending > 0",
                "ORDER BY coalesce(p.waiting, 0) DESC, g.pending DESC",
            ),
            (12, 15, 12, 6),
            overrides=[
                override("Lâu nhất (phút)", decimals=0),
                colored_cells("Lâu nhất (phút)", at_most(120, 300)),
                override("Cổng thanh toán", width=260),
            ],
        ),
        table(
            "Theo lĩnh vực",
            "Theo lĩnh vực: giao dịch, thành công, giá trị (đồng), tỷ lệ thành công, tỷ lệ không "
            "dùng tiền mặt và tỷ lệ trực tuyến trong các giao dịch thành công.",
            sql(
                f'SELECT {label("sector", "payment_sector")} AS "Lĩnh vực",',
                '       sum(payments) AS "Giao dịch",',
                '       sum(succeeded) AS "Thành công",',
                '       sum(amount_vnd) AS "Giá trị",',
                "       sum(succeeded)::float8 / nullif(sum(succeeded + failed), 0) "
                'AS "Tỷ lệ thành công",',
                '       sum(cashless)::float8 / nullif(sum(succeeded), 0) AS "Không tiền mặt",',
                "       sum(succeeded) FILTER (WHERE channel = 'online')::float8",
                '           / nullif(sum(succeeded), 0) AS "Trực tuyến"',
                "FROM payment_sectors_1h",
                f"WHERE $__timeFilter(bucket) AND {WHERE}",
                "GROUP BY sector",
                "ORDER BY sum(amount_vnd) DESC",
            ),
            (0, 21, 12, 10),
            overrides=[
                override("Giá trị", unit="currencyVND", decimals=0),
                colored_cells("Tỷ lệ thành công", at_least(0.96, 0.92), "percentunit"),
                colored_cells("Không tiền mặt", at_least(0.80, 0.50), "percentunit"),
                colored_cells("Trực tuyến", at_least(0.80, 0.50), "percentunit"),
            ],
        ),
        table(
            "Cổng thanh toán",
            "Theo cổng thanh toán trong khoảng thời gian: giao dịch, tỷ lệ thành công, số giao "
            "dịch từng chờ xử lý, độ trễ xác nhận trung bình và tối đa, tỷ lệ chậm hơn 3 giây. "
            "Thu tiền mặt tại quầy không có độ trễ (không chờ hệ thống nào).",
            sql(
                f'SELECT {label("gateway", "gateway")} AS "Cổng thanh toán",',
                '       sum(payments) AS "Giao dịch",',
                "       sum(succeeded)::float8 / nullif(sum(succeeded + failed), 0) "
                'AS "Thành công",',
                '       sum(pending) AS "Từng chờ xử lý",',
                "       sum(latency_ms_sum)::float8 / nullif(sum(latency_ms_count), 0) "
                'AS "Độ trễ TB",',
                '       max(latency_ms_max) AS "Độ trễ tối đa",',
                "       sum(slow)::float8 / nullif(sum(latency_ms_count), 0) "
                'AS "Chậm hơn 3 giây"',
                "FROM payment_gateways_1h",
                f"WHERE $__timeFilter(bucket) AND {WHERE}",
                "GROUP BY gateway",
                "ORDER BY sum(payments) DESC",
            ),
            (12, 21, 12, 10),
            overrides=[
                colored_cells("Thành công", at_least(0.96, 0.92), "percentunit"),
                override("Độ trễ TB", unit="ms", decimals=0),
                override("Độ trễ tối đa", unit="ms", decimals=0),
                colored_cells("Chậm hơn 3 giây", at_most(0.05, 0.15), "percentunit"),
                override("Cổng thanh toán", width=260),
            ],
        ),
        bargauge(
            "Giao dịch lỗi theo nguyên nhân",
            "Giao dịch thất bại trong khoảng thời gian theo cổng, phương thức và mã lỗi, nhiều "
            "nhất trước.",
            sql(
                f"SELECT {label('gateway', 'gateway')} || ' · ' || {label('method', 'method')}",
                f"       || ' · ' || {label('error_code', 'error_code')} AS \"Lỗi\",",
                '       sum(failures) AS "Số lần"',
                "FROM payment_failures_1h",
                f"WHERE $__timeFilter(bucket) AND {WHERE}",
                "GROUP BY gateway, method, error_code",
                "ORDER BY 2 DESC",
                "LIMIT 12",
            ),
            (0, 31, 12, 10),
            steps=at_most(50, 200),
        ),
        timeseries(
            "Xu hướng 30 ngày",
            "Theo từng ngày trong 30 ngày gần nhất: tỷ lệ thành công, tỷ lệ không dùng tiền mặt "
            "và tỷ lệ thanh toán trực tuyến phí, lệ phí dịch vụ công.",
            sql(
                f"SELECT {LOCAL_DAY} AS time,",
                "       sum(succeeded)::float8 / nullif(sum(succeeded + failed), 0) "
                'AS "Thành công",',
                '       sum(cashless)::float8 / nullif(sum(succeeded), 0) AS "Không tiền mặt",',
                "       sum(succeeded) FILTER (WHERE sector = 'public_service' "
                "AND channel = 'online')::float8",
                "           / nullif(sum(succeeded) FILTER (WHERE sector = 'public_service'), 0)",
                '           AS "Trực tuyến (DVC)"',
                "FROM payment_sectors_1h",
                f"WHERE $__timeFilter(bucket) AND {WHERE}",
                "GROUP BY 1",
                "ORDER BY 1",
            ),
            (12, 31, 12, 10),
            fmt="time_series",
            unit="percentunit",
            minimum=0,
            maximum=1,
            time_from="30d",
            interval="1d",
        ),
    ]
    return dashboard(
        "ioc-payments",
        "IOC - Thanh toán không dùng tiền mặt",
        "Thanh toán trực tuyến và không dùng tiền mặt: số giao dịch và giá trị theo lĩnh vực "
        "và phương thức, tỷ lệ không dùng tiền mặt, tỷ lệ thành công và độ trễ theo cổng, giao "
        "dịch chờ xử lý và hoàn tiền, lỗi theo nguyên nhân.",
        panels,
        time_from="now-24h",
        annotations=[alert_annotation("firing", "Cảnh báo", RED)],
    )


# --------------------------------------------------------------------------------------------
# 4. Field reports (phản ánh hiện trường)
# --------------------------------------------------------------------------------------------


def field_reports() -> dict[str, Any]:
    geomap_options = {
        "basemap": {"config": {}, "name": "Bản đồ", "type": "default"},
        "controls": {
            "mouseWheelZoom": True,
            "showAttribution": True,
            "showDebug": False,
            "showMeasure": False,
            "showScale": False,
            "showZoom": True,
        },
        "layers": [
            {
                "config": {
                    "showLegend": True,
                    "style": {
                        "color": {"field": "Quá hạn", "fixed": "dark-green"},
                        "opacity": 0.8,
                        "rotation": {"fixed": 0, "mode": "mod", "max": 360, "min": -360},
                        "size": {"fixed": 6, "max": 12, "min": 4},
                        "symbol": {"fixed": "img/icons/marker/circle.svg", "mode": "fixed"},
                        "symbolAlign": {"horizontal": "center", "vertical": "center"},
                        "textConfig": {
                            "fontSize": 12,
                            "offsetX": 0,
                            "offsetY": 0,
                            "textAlign": "center",
                            "textBaseline": "middle",
                        },
                    },
                },
                "location": {"latitude": "latitude", "longitude": "longitude", "mode": "coords"},
                "name": "Phản ánh đang mở",
                "tooltip": True,
                "type": "markers",
            }
        ],
        "tooltip": {"mode": "details"},
        # zoom to the reports shown (the province selected)
        "view": {"allLayers": True, "id": "fit", "padding": 10},
    }
    on_time_text = (
        "Định nghĩa dùng chung với chỉ tiêu cảnh báo và hàm kpi_incidents (field_report_kpis()): "
        "trong số phản ánh đến hạn xử lý trong khoảng thời gian (không tính phản ánh bị từ "
        "chối), tỷ lệ được xử lý xong trước hạn; phản ánh còn mở khi đã quá hạn tính là trễ."
    )
    overdue = sql(
        "SELECT count(*) FILTER (WHERE overdue) AS overdue,",
        "       avg(overdue::int)::float8 AS value, count(*) AS n",
        f"FROM incident_backlog WHERE {WHERE}",
    )
    panels = [
        stat(
            "Phản ánh tiếp nhận",
            "Phản ánh hiện trường tiếp nhận trong khoảng thời gian (ứng dụng, cổng thông tin, "
            "tổng đài 1022).",
            sql(
                'SELECT sum(received) AS "Tiếp nhận" FROM incident_events_1h',
                f"WHERE $__timeFilter(bucket) AND {WHERE}",
            ),
            (0, 0, 6, 6),
            steps=fixed(BLUE),
        ),
        stat(
            "Đang mở",
            "Phản ánh chưa xử lý xong hoặc chưa từ chối, tại thời điểm hiện tại.",
            f'SELECT count(*) AS "Đang mở" FROM incident_backlog WHERE {WHERE}',
            (6, 0, 6, 6),
            steps=fixed(PURPLE),
        ),
        banded(
            "Quá hạn xử lý",
            "Phản ánh đang mở đã quá hạn xử lý (24 giờ với sự cố nguy hiểm, 2 ngày làm việc với "
            "sự cố điện, nước, cây xanh, chiếu sáng, giao thông, 5 ngày làm việc với loại khác), "
            "tại thời điểm hiện tại; màu theo tỷ lệ quá hạn trên số phản ánh đang mở.",
            overdue,
            "incident_overdue_share",
            (12, 0, 6, 6),
            name="Quá hạn",
            show="overdue",
            higher_is_better=False,
            steps=fixed(BLUE),
        ),
        banded(
            "Xử lý đúng hạn",
            on_time_text,
            sql(
                f"SELECT on_time_rate AS value, due_reports AS n FROM {FIELD_REPORT_KPIS}",
                "WHERE district IS NULL",
            ),
            "incident_on_time_rate",
            (18, 0, 6, 6),
            name="Đúng hạn",
            unit="percentunit",
            decimals=1,
            steps=fixed(BLUE),
        ),
        panel(
            "geomap",
            "Bản đồ phản ánh đang mở",
            "Phản ánh đang mở tại vị trí được báo; màu đỏ khi đã quá hạn.",
            sql(
                'SELECT latitude, longitude, title AS "Nội dung",',
                f'       {label("category", "category")} AS "Lĩnh vực",',
                f'       {label("status", "incident_status")} AS "Trạng thái",',
                '       reported_at AS "Tiếp nhận lúc",',
                '       CASE WHEN overdue THEN 1 ELSE 0 END AS "Quá hạn"',
                "FROM incident_backlog",
                f"WHERE {WHERE}",
                "ORDER BY reported_at",
                "LIMIT 5000",
            ),
            (0, 6, 14, 18),
            options=geomap_options,
            steps=thresholds((None, GREEN), (1, RED)),
        ),
        barchart(
            "Theo lĩnh vực",
            "Phản ánh tiếp nhận và đã xử lý trong khoảng thời gian, theo lĩnh vực.",
            sql(
                f'SELECT {label("category", "category")} AS "Lĩnh vực",',
                '       sum(received) AS "Tiếp nhận",',
                '       sum(resolved) AS "Đã xử lý"',
                "FROM incident_events_1h",
                f"WHERE $__timeFilter(bucket) AND {WHERE}",
                "GROUP BY category",
                "ORDER BY sum(received) DESC",
            ),
            (14, 6, 10, 9),
            x_field="Lĩnh vực",
            overrides=[series_color("Tiếp nhận", BLUE), series_color("Đã xử lý", GREEN)],
        ),
        bargauge(
            "Tồn đọng theo trạng thái",
            "Phản ánh đang mở theo bước xử lý, tại thời điểm hiện tại.",
            sql(
                f'SELECT {label("status", "incident_status")} AS "Trạng thái", '
                'count(*) AS "Phản ánh"',
                "FROM incident_backlog",
                f"WHERE {WHERE}",
                "GROUP BY status",
                f"ORDER BY {order('status', 'incident_status')}",
            ),
            (14, 15, 10, 9),
            steps=fixed(PURPLE),
        ),
        stat(
            "Tổng đài 1022",
            "Phản ánh tiếp nhận qua tổng đài 1022 trong khoảng thời gian, và tỷ lệ trên tổng số "
            "phản ánh.",
            sql(
                'SELECT hotline_reports AS "Cuộc gọi tiếp nhận",',
                '       hotline_reports::float8 / nullif(reports, 0) AS "Tỷ lệ qua 1022"',
                f"FROM {FIELD_REPORT_KPIS}",
                "WHERE district IS NULL",
            ),
            (0, 24, 6, 8),
            text_mode="value_and_name",
            value_size=36,
            steps=fixed(BLUE),
            overrides=[override("Tỷ lệ qua 1022", unit="percentunit", decimals=1)],
        ),
        table(
            "Tổng đài 1022 theo lĩnh vực",
            "Phản ánh qua tổng đài 1022 trong khoảng thời gian theo lĩnh vực: tiếp nhận, đã xử "
            "lý, xử lý đúng hạn trên số đã xử lý, mức độ hài lòng trung bình (1-5).",
            sql(
                f'SELECT {label("category", "category")} AS "Lĩnh vực",',
                '       sum(received) AS "Tiếp nhận",',
                '       sum(resolved) AS "Đã xử lý",',
                "       sum(resolved_on_time)::float8",
                '           / nullif(sum(resolved_on_time + resolved_late), 0) AS "Đúng hạn",',
                "       sum(satisfaction_sum)::float8 / nullif(sum(satisfaction_count), 0)",
                '           AS "Hài lòng"',
                "FROM incident_events_1h",
                f"WHERE $__timeFilter(bucket) AND channel = 'hotline_1022' AND {WHERE}",
                "GROUP BY category",
                "ORDER BY sum(received) DESC",
            ),
            (6, 24, 10, 8),
            overrides=[
                colored_cells("Đúng hạn", at_least(0.95, 0.85), "percentunit"),
                colored_cells("Hài lòng", at_least(4.0, 3.0)),
                override("Hài lòng", decimals=1),
            ],
        ),
        piechart(
            "Kênh tiếp nhận",
            "Phản ánh tiếp nhận trong khoảng thời gian theo kênh: ứng dụng di động, cổng thông "
            "tin, tổng đài 1022.",
            sql(
                f'SELECT {label("channel", "report_channel")} AS "Kênh", '
                'sum(received) AS "Phản ánh"',
                "FROM incident_events_1h",
                f"WHERE $__timeFilter(bucket) AND {WHERE}",
                "GROUP BY channel",
                f"ORDER BY {order('channel', 'report_channel')}",
            ),
            (16, 24, 8, 8),
        ),
        table(
            "Theo địa bàn",
            "Theo từng đơn vị cấp huyện: phản ánh tiếp nhận trong khoảng thời gian, tỷ lệ xử lý "
            "đúng hạn (cùng định nghĩa với chỉ tiêu 'Xử lý đúng hạn'), mức độ hài lòng trung "
            "bình (1-5), phản ánh đang mở và quá hạn hiện tại.",
            sql(
                'SELECT d.name_vi AS "Địa bàn",',
                '       coalesce(f.reports, 0) AS "Tiếp nhận",',
                '       f.on_time_rate AS "Đúng hạn",',
                '       f.satisfaction AS "Hài lòng",',
                '       coalesce(b.open, 0) AS "Đang mở",',
                '       coalesce(b.overdue, 0) AS "Quá hạn"',
                "FROM districts AS d",
                f"LEFT JOIN {FIELD_REPORT_KPIS} AS f ON f.district = d.code",
                "LEFT JOIN (",
                "    SELECT district, count(*) AS open, count(*) FILTER (WHERE overdue) AS overdue",
                f"    FROM incident_backlog WHERE {WHERE} GROUP BY district",
                ") AS b ON b.district = d.code",
                f"WHERE d.province = {PROVINCE} AND d.code IN ({DISTRICTS})",
                "ORDER BY d.population DESC",
            ),
            (0, 32, 12, 10),
            overrides=[
                colored_cells("Đúng hạn", at_least(0.95, 0.85), "percentunit"),
                colored_cells("Hài lòng", at_least(4.0, 3.0)),
                override("Hài lòng", decimals=1),
                colored_cells("Quá hạn", thresholds((None, GREEN), (3, ORANGE), (8, RED))),
            ],
        ),
        timeseries(
            "Xu hướng 30 ngày",
            "Phản ánh tiếp nhận và đã xử lý theo từng ngày trong 30 ngày gần nhất.",
            sql(
                f"SELECT {LOCAL_DAY} AS time,",
                '       sum(received) AS "Tiếp nhận",',
                '       sum(resolved) AS "Đã xử lý",',
                '       sum(resolved_late) AS "Xử lý trễ hạn"',
                "FROM incident_events_1h",
                f"WHERE $__timeFilter(bucket) AND {WHERE}",
                "GROUP BY 1",
                "ORDER BY 1",
            ),
            (12, 32, 12, 10),
            fmt="time_series",
            time_from="30d",
            interval="1d",
            overrides=[
                series_color("Tiếp nhận", BLUE),
                series_color("Đã xử lý", GREEN),
                series_color("Xử lý trễ hạn", RED),
            ],
        ),
        table(
            "Phản ánh mở lâu nhất",
            "20 phản ánh đang mở lâu nhất, kèm đơn vị xử lý và hạn xử lý.",
            sql(
                'SELECT b.reported_at AS "Tiếp nhận lúc",',
                '       b.report_id AS "Mã",',
                '       b.title AS "Nội dung",',
                f'       {label("b.category", "category")} AS "Lĩnh vực",',
                '       d.name_vi AS "Địa bàn",',
                f'       {label("b.status", "incident_status")} AS "Trạng thái",',
                '       b.handling_unit AS "Đơn vị xử lý",',
                '       b.due_at AS "Hạn xử lý",',
                '       extract(epoch FROM b.age) / 3600 AS "Số giờ"',
                "FROM incident_backlog AS b",
                "JOIN districts AS d ON d.province = b.province AND d.code = b.district",
                f"WHERE b.province = {PROVINCE} AND b.district IN ({DISTRICTS})",
                "ORDER BY b.reported_at",
                "LIMIT 20",
            ),
            (0, 42, 24, 11),
            overrides=[
                override("Tiếp nhận lúc", unit="dateTimeAsLocal", width=170),
                override("Hạn xử lý", unit="dateTimeAsLocal", width=170),
                colored_cells("Số giờ", at_most(72, 120)),
                override("Số giờ", decimals=0, unit="h"),
                override("Nội dung", width=360),
            ],
        ),
    ]
    return dashboard(
        "ioc-field-reports",
        "IOC - Phản ánh hiện trường",
        "Phản ánh hiện trường của người dân: tiếp nhận theo lĩnh vực, kênh và địa bàn, tổng đài "
        "1022, tồn đọng theo bước xử lý, xử lý đúng hạn, bản đồ phản ánh đang mở và các phản "
        "ánh mở lâu nhất.",
        panels,
        time_from="now-7d",
        annotations=[alert_annotation("firing", "Cảnh báo", RED)],
    )


DASHBOARDS = {
    "ioc-overview.json": overview,
    "ioc-public-services.json": public_services,
    "ioc-payments.json": payments,
    "ioc-field-reports.json": field_reports,
}


def render(build: Any) -> str:
    """Stable JSON: sorted keys, two-space indent, UTF-8 (Vietnamese stays readable)."""
    return json.dumps(build(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="Default: %(default)s")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, build in DASHBOARDS.items():
        (args.out / name).write_text(render(build), encoding="utf-8")
        print(f"wrote {args.out / name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
