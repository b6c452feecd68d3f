"""Generate the IOC wall-screen dashboards: ``python grafana/build_dashboards.py``.

The dashboards are Python data here and JSON in ``grafana/dashboards/`` (committed; Grafana's
file provider reads them, see ``grafana/provisioning/dashboards/ioc.yml``). Re-run this after
changing it; tests/test_dashboards.py fails when the JSON is not what this file writes.

Every panel reads the rollups, backlogs and functions of ``db/migrations/0005_dashboards.sql``
(TimescaleDB continuous aggregates of the same names in production) and the alerting views,
through the datasource ``ioc-timescaledb`` as the read-only role ``ioc_grafana``. Each
query filters on the template variables ``province`` (one province) and ``district``
(several, or All), and tests/test_panel_queries.py runs every one against a simulated
database with Grafana's macros expanded.

Layout for a wall screen: big stat panels with coloured thresholds, few panels per row, the
provinces' time zone, refresh every 30 seconds, Vietnamese titles (English descriptions).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

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
# Vietnamese labels for the codes stored in the events (translated in SQL, so bar charts,
# pie charts and tables all show them)
# --------------------------------------------------------------------------------------------

AGENCY_LEVELS = {"province": "Cấp tỉnh", "district": "Cấp huyện", "commune": "Cấp xã"}
DOSSIER_CHANNELS = {
    "fully_online": "Trực tuyến toàn trình",
    "partly_online": "Trực tuyến một phần",
    "in_person": "Trực tiếp",
}
SECTORS = {
    "public_service": "Dịch vụ công",
    "electricity": "Điện",
    "water": "Nước",
    "telecom": "Viễn thông",
    "healthcare": "Y tế",
    "education": "Giáo dục",
    "transport": "Giao thông",
}
METHODS = {
    "bank_transfer": "Chuyển khoản",
    "qr": "Mã QR",
    "e_wallet": "Ví điện tử",
    "card": "Thẻ",
    "cash": "Tiền mặt",
}
CATEGORIES = {
    "traffic": "Giao thông",
    "environment": "Môi trường",
    "urban_order": "Trật tự đô thị",
    "flooding": "Ngập úng",
    "infrastructure": "Hạ tầng",
    "security": "An ninh trật tự",
}
INCIDENT_STATUSES = {
    "received": "Mới tiếp nhận",
    "verified": "Đã xác minh",
    "assigned": "Đã chuyển đơn vị xử lý",
    "in_progress": "Đang xử lý",
}
SEVERITIES = {"critical": "Nghiêm trọng", "warning": "Cảnh báo", "info": "Thông tin"}


def label(column: str, names: dict[str, str]) -> str:
    """A CASE expression that shows ``column``'s codes by their Vietnamese names."""
    whens = " ".join(f"WHEN '{code}' THEN '{name}'" for code, name in names.items())
    return f"CASE {column} {whens} ELSE {column} END"


def order(column: str, names: dict[str, str]) -> str:
    """The codes' order in ``names``, for ORDER BY."""
    whens = " ".join(f"WHEN '{code}' THEN {i}" for i, code in enumerate(names))
    return f"CASE {column} {whens} ELSE {len(names)} END"


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


def target(raw_sql: str, fmt: str = "table") -> dict[str, Any]:
    return {
        "datasource": DATASOURCE,
        "editorMode": "code",
        "format": fmt,
        "rawQuery": True,
        "rawSql": raw_sql,
        "refId": "A",
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
) -> dict[str, Any]:
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
            "description": "The province shown (one at a time).",
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
            "description": "District-level units of the province (several, or all).",
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
# 1. IOC overview
# --------------------------------------------------------------------------------------------

PERIOD_KPIS = f"dossier_period_kpis({PROVINCE}, ARRAY[{DISTRICTS}], $__timeFrom(), $__timeTo())"
ON_TIME_DESCRIPTION = (
    "On-time rate = 100% - late rate, with the portals' formula: late rate = (late dossiers "
    "still in progress + late dossiers already resolved) / (dossiers received in the period + "
    "carried over from before). Computed by dossier_period_kpis() in db/ from the hourly "
    "rollup and the open backlog."
)


def overview() -> dict[str, Any]:
    panels = [
        stat(
            "Hồ sơ xử lý trực tuyến toàn trình",
            "Of the dossiers submitted online in the time range, the share processed fully "
            "online (toàn trình). Target: 97% (Ba Ria-Vung Tau).",
            sql(
                "SELECT sum(submitted) FILTER (WHERE channel = 'fully_online')::float8",
                "       / nullif(sum(submitted) FILTER (WHERE channel IN "
                "('fully_online', 'partly_online')), 0) AS \"Toàn trình\"",
                "FROM dossier_events_1h",
                f"WHERE $__timeFilter(bucket) AND {WHERE}",
            ),
            (0, 0, 8, 6),
            unit="percentunit",
            decimals=1,
            steps=at_least(0.97, 0.90),
        ),
        stat(
            "Thanh toán trực tuyến phí, lệ phí DVC",
            "Share of successful public-service fee payments made online in the time range. "
            "Target: 80% on the provincial public-service portal (Ba Ria-Vung Tau).",
            sql(
                "SELECT sum(succeeded) FILTER (WHERE channel = 'online')::float8",
                '       / nullif(sum(succeeded), 0) AS "Trực tuyến"',
                "FROM payment_sectors_1h",
                f"WHERE $__timeFilter(bucket) AND sector = 'public_service' AND {WHERE}",
            ),
            (8, 0, 8, 6),
            unit="percentunit",
            decimals=1,
            steps=at_least(0.80, 0.70),
        ),
        stat(
            "Hồ sơ giải quyết đúng hạn",
            ON_TIME_DESCRIPTION + " Green from 97% (what the provinces report).",
            f'SELECT on_time_rate AS "Đúng hạn" FROM {PERIOD_KPIS}',
            (16, 0, 8, 6),
            unit="percentunit",
            decimals=1,
            steps=at_least(0.97, 0.90),
        ),
        stat(
            "Phản ánh hiện trường đang mở",
            "Field reports received and not yet resolved or rejected, now.",
            f'SELECT count(*) AS "Đang mở" FROM incident_backlog WHERE {WHERE}',
            (0, 6, 8, 6),
            steps=fixed(BLUE),
        ),
        stat(
            "Phản ánh quá hạn xử lý",
            "Open field reports past their deadline (5 working days), now.",
            f'SELECT count(*) FILTER (WHERE overdue) AS "Quá hạn" FROM incident_backlog '
            f"WHERE {WHERE}",
            (8, 6, 8, 6),
            steps=thresholds((None, GREEN), (1, ORANGE), (25, RED)),
        ),
        stat(
            "Giao dịch thanh toán thành công",
            "Successful payments / (successful + failed) in the time range, all sectors and "
            "gateways (pending and refunded ones are not counted).",
            sql(
                "SELECT sum(succeeded)::float8 / nullif(sum(succeeded + failed), 0) "
                'AS "Thành công"',
                "FROM payment_gateways_1h",
                f"WHERE $__timeFilter(bucket) AND {WHERE}",
            ),
            (16, 6, 8, 6),
            unit="percentunit",
            decimals=1,
            steps=at_least(0.95, 0.90),
        ),
        timeseries(
            "Luồng dữ liệu theo phút",
            "Events stored per minute for each feed (dossiers, payments, field reports), "
            "from the per-minute rollups.",
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
            (0, 12, 14, 10),
            fmt="time_series",
            unit="short",
            interval="1m",
        ),
        table(
            "Cảnh báo đang hoạt động",
            "Alerts firing now in the province (the alerts_firing view of the alerter), the "
            "most severe and oldest first. Transitions are drawn as annotations on the graphs.",
            sql(
                'SELECT firing_since AS "Từ lúc",',
                f'       {label("severity", SEVERITIES)} AS "Mức độ",',
                '       coalesce(district_name, province_name) AS "Địa bàn",',
                '       summary AS "Nội dung",',
                "       CASE WHEN acknowledged THEN 'Đã tiếp nhận' WHEN silenced THEN 'Tạm ẩn' "
                "ELSE 'Mới' END AS \"Trạng thái\"",
                "FROM alerts_firing",
                f"WHERE province = {PROVINCE} AND (district IS NULL OR district IN ({DISTRICTS}))",
                f"ORDER BY {order('severity', SEVERITIES)}, firing_since",
            ),
            (14, 12, 10, 10),
            overrides=[
                override("Từ lúc", unit="dateTimeFromNow", width=120),
                colored_cells(
                    "Mức độ",
                    fixed(ORANGE),
                ),
            ],
        ),
        table(
            "Theo địa bàn",
            "Per district-level unit: dossiers received in the time range and overdue now, "
            "payments and their success rate in the time range, open and overdue field "
            "reports now.",
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
            (0, 22, 24, 11),
            overrides=[
                colored_cells("Thanh toán thành công", at_least(0.95, 0.90), "percentunit"),
                colored_cells("Hồ sơ quá hạn", thresholds((None, GREEN), (1, ORANGE), (20, RED))),
                colored_cells("Phản ánh quá hạn", thresholds((None, GREEN), (1, ORANGE), (5, RED))),
            ],
        ),
    ]
    return dashboard(
        "ioc-overview",
        "IOC - Tổng quan điều hành",
        "The IOC's headline screen: KPIs against the provinces' targets, the live flow of the "
        "three feeds, alerts firing now and a district breakdown.",
        panels,
        time_from="now-24h",
        annotations=[
            alert_annotation("firing", "Cảnh báo bắt đầu", RED),
            alert_annotation("resolved", "Cảnh báo kết thúc", GREEN),
        ],
    )


# --------------------------------------------------------------------------------------------
# 2. Public services (dịch vụ công)
# --------------------------------------------------------------------------------------------

AGENCY_KPIS = f"dossier_agency_kpis({PROVINCE}, ARRAY[{DISTRICTS}], $__timeFrom(), $__timeTo())"


def public_services() -> dict[str, Any]:
    flows = [
        ("Tiếp nhận mới", "received", BLUE),
        ("Kỳ trước chuyển sang", "carried_over", PURPLE),
        ("Giải quyết trước hạn", "resolved_early", GREEN),
        ("Giải quyết đúng hạn", "resolved_on_time", "semi-dark-green"),
        ("Giải quyết trễ hạn", "resolved_late", RED),
        ("Từ chối / trả lại", "rejected", "text"),
    ]
    panels = [
        stat(
            "Tỷ lệ giải quyết đúng hạn",
            ON_TIME_DESCRIPTION,
            f'SELECT on_time_rate AS "Đúng hạn" FROM {PERIOD_KPIS}',
            (0, 0, 6, 7),
            unit="percentunit",
            decimals=1,
            steps=at_least(0.97, 0.90),
        ),
        stat(
            "Tỷ lệ trễ hạn",
            "Late rate = (late still in progress + late already resolved) / (received in the "
            "period + carried over from before).",
            f'SELECT late_rate AS "Trễ hạn" FROM {PERIOD_KPIS}',
            (6, 0, 6, 7),
            unit="percentunit",
            decimals=2,
            steps=at_most(0.03, 0.10),
        ),
        stat(
            "Sắp trễ hạn (trong 24 giờ)",
            "Open dossiers due within the next 24 hours, now.",
            f'SELECT about_to_be_late AS "Sắp trễ hạn" FROM {PERIOD_KPIS}',
            (12, 0, 6, 7),
            steps=thresholds((None, GREEN), (1, ORANGE)),
        ),
        stat(
            "Quá hạn, đang xử lý",
            "Open dossiers past their due date, now (the 'late still in progress' of the "
            "late-rate formula).",
            f'SELECT overdue AS "Quá hạn" FROM {PERIOD_KPIS}',
            (18, 0, 6, 7),
            steps=thresholds((None, GREEN), (1, RED)),
        ),
        stat(
            "Hồ sơ trong kỳ",
            "The terms of the late-rate formula for the time range: received in the period, "
            "carried over from before (the backlog when it began), resolved early (at least a "
            "day before the due date), on time, late, and rejected.",
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
        timeseries(
            "Xu hướng 30 ngày",
            "Dossiers received, resolved on time (early included), resolved late and rejected "
            "per local calendar day over the last 30 days.",
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
            (0, 12, 24, 9),
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
            "Dossiers received and resolved early, on time and late in the time range, by the "
            "level of the handling agency (province department, district, commune).",
            sql(
                f'SELECT {label("agency_level", AGENCY_LEVELS)} AS "Cấp",',
                '       sum(received) AS "Tiếp nhận",',
                '       sum(resolved_early) AS "Trước hạn",',
                '       sum(resolved_on_time) AS "Đúng hạn",',
                '       sum(resolved_late) AS "Trễ hạn"',
                "FROM dossier_events_1h",
                f"WHERE $__timeFilter(bucket) AND {WHERE}",
                "GROUP BY agency_level",
                f"ORDER BY {order('agency_level', AGENCY_LEVELS)}",
            ),
            (0, 21, 12, 9),
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
            "Dossiers received in the time range by channel: fully online (toàn trình), partly "
            "online, or in person at the one-stop desk.",
            sql(
                f'SELECT {label("channel", DOSSIER_CHANNELS)} AS "Kênh",',
                '       sum(received) AS "Hồ sơ"',
                "FROM dossier_events_1h",
                f"WHERE $__timeFilter(bucket) AND {WHERE}",
                "GROUP BY channel",
                f"ORDER BY {order('channel', DOSSIER_CHANNELS)}",
            ),
            (12, 21, 12, 9),
        ),
        table(
            "Theo cơ quan giải quyết",
            "Per agency: received, carried over, resolved early / on time / late, about to be "
            "late and overdue now, and the on-time rate by the portals' formula. Agencies with "
            "the most dossiers first.",
            sql(
                'SELECT agency_name AS "Cơ quan",',
                f'       {label("agency_level", AGENCY_LEVELS)} AS "Cấp",',
                '       received AS "Tiếp nhận", carried_over AS "Kỳ trước",',
                '       resolved_early AS "Trước hạn", resolved_on_time AS "Đúng hạn",',
                '       resolved_late AS "Trễ hạn", about_to_be_late AS "Sắp trễ hạn",',
                '       overdue AS "Quá hạn", on_time_rate AS "Tỷ lệ đúng hạn"',
                f"FROM {AGENCY_KPIS}",
                "ORDER BY received + carried_over DESC, agency_name",
                "LIMIT 100",
            ),
            (0, 30, 24, 13),
            overrides=[
                colored_cells("Tỷ lệ đúng hạn", at_least(0.97, 0.90), "percentunit"),
                colored_cells("Quá hạn", thresholds((None, GREEN), (1, RED))),
                colored_cells("Sắp trễ hạn", thresholds((None, GREEN), (1, ORANGE))),
                override("Cơ quan", width=360),
            ],
        ),
    ]
    return dashboard(
        "ioc-public-services",
        "IOC - Dịch vụ công trực tuyến",
        "Administrative-procedure dossiers (hồ sơ TTHC): the period's flows and stocks, the "
        "on-time and late rates by the portals' formula, by agency, level and channel, and "
        "the 30-day trend.",
        panels,
        time_from="now-30d",
        annotations=[alert_annotation("firing", "Cảnh báo", RED)],
    )


# --------------------------------------------------------------------------------------------
# 3. Payments
# --------------------------------------------------------------------------------------------


def payments() -> dict[str, Any]:
    panels = [
        stat(
            "Số giao dịch",
            "Payment transactions in the time range, every outcome.",
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
            "Amount of the successful payments in the time range, in VND.",
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
            "Share of successful payments made without cash (bank transfer, QR, e-wallet, "
            "card), all sectors.",
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
        stat(
            "Tỷ lệ giao dịch thành công",
            "Successful / (successful + failed) payments in the time range.",
            sql(
                "SELECT sum(succeeded)::float8 / nullif(sum(succeeded + failed), 0) "
                'AS "Thành công"',
                "FROM payment_gateways_1h",
                f"WHERE $__timeFilter(bucket) AND {WHERE}",
            ),
            (18, 0, 6, 6),
            unit="percentunit",
            decimals=1,
            steps=at_least(0.95, 0.90),
        ),
        timeseries(
            "Giao dịch theo phút",
            "Successful and failed payments per minute (per-minute rollup).",
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
            "Successful payments in the time range by method.",
            sql(
                f'SELECT {label("method", METHODS)} AS "Phương thức",',
                '       sum(succeeded) AS "Giao dịch"',
                "FROM payment_methods_1h",
                f"WHERE $__timeFilter(bucket) AND {WHERE}",
                "GROUP BY method",
                f"ORDER BY {order('method', METHODS)}",
            ),
            (16, 6, 8, 9),
        ),
        table(
            "Theo lĩnh vực",
            "Per sector: transactions, successful ones, amount (VND), cashless share and "
            "online share of the successful payments, in the time range.",
            sql(
                f'SELECT {label("sector", SECTORS)} AS "Lĩnh vực",',
                '       sum(payments) AS "Giao dịch",',
                '       sum(succeeded) AS "Thành công",',
                '       sum(amount_vnd) AS "Giá trị",',
                '       sum(cashless)::float8 / nullif(sum(succeeded), 0) AS "Không tiền mặt",',
                "       sum(succeeded) FILTER (WHERE channel = 'online')::float8",
                '           / nullif(sum(succeeded), 0) AS "Trực tuyến"',
                "FROM payment_sectors_1h",
                f"WHERE $__timeFilter(bucket) AND {WHERE}",
                "GROUP BY sector",
                "ORDER BY sum(amount_vnd) DESC",
            ),
            (0, 15, 12, 10),
            overrides=[
                override("Giá trị", unit="currencyVND", decimals=0),
                colored_cells("Không tiền mặt", at_least(0.80, 0.50), "percentunit"),
                colored_cells("Trực tuyến", at_least(0.80, 0.50), "percentunit"),
            ],
        ),
        table(
            "Cổng thanh toán",
            "Per payment gateway in the time range: transactions, success rate, mean and "
            "maximum confirmation latency, and the share slower than 3 seconds.",
            sql(
                'SELECT gateway AS "Cổng thanh toán",',
                '       sum(payments) AS "Giao dịch",',
                "       sum(succeeded)::float8 / nullif(sum(succeeded + failed), 0) "
                'AS "Thành công",',
                '       sum(latency_ms_sum)::float8 / nullif(sum(payments), 0) AS "Độ trễ TB",',
                '       max(latency_ms_max) AS "Độ trễ tối đa",',
                '       sum(slow)::float8 / nullif(sum(payments), 0) AS "Chậm hơn 3 giây"',
                "FROM payment_gateways_1h",
                f"WHERE $__timeFilter(bucket) AND {WHERE}",
                "GROUP BY gateway",
                "ORDER BY sum(payments) DESC",
            ),
            (12, 15, 12, 10),
            overrides=[
                colored_cells("Thành công", at_least(0.95, 0.90), "percentunit"),
                override("Độ trễ TB", unit="ms", decimals=0),
                override("Độ trễ tối đa", unit="ms", decimals=0),
                colored_cells("Chậm hơn 3 giây", at_most(0.05, 0.15), "percentunit"),
            ],
        ),
        bargauge(
            "Giao dịch lỗi theo mã lỗi",
            "Failed payments in the time range by gateway and error code, the most frequent first.",
            sql(
                'SELECT gateway || \' · \' || error_code AS "Lỗi", sum(failures) AS "Số lần"',
                "FROM payment_failures_1h",
                f"WHERE $__timeFilter(bucket) AND {WHERE}",
                "GROUP BY gateway, error_code",
                "ORDER BY 2 DESC",
                "LIMIT 12",
            ),
            (0, 25, 12, 10),
            steps=at_most(50, 200),
        ),
        timeseries(
            "Xu hướng 30 ngày",
            "Per local calendar day over the last 30 days: success rate, cashless share and "
            "the online share of public-service fee payments.",
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
            (12, 25, 12, 10),
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
        "Online and cashless payments: volume and amount (VND) by sector and method, cashless "
        "share, success rate and latency by gateway, failures by error code.",
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
    panels = [
        stat(
            "Phản ánh tiếp nhận",
            "Field reports received in the time range (app, web portal, 1022 hotline).",
            sql(
                'SELECT sum(received) AS "Tiếp nhận" FROM incident_events_1h',
                f"WHERE $__timeFilter(bucket) AND {WHERE}",
            ),
            (0, 0, 6, 6),
            steps=fixed(BLUE),
        ),
        stat(
            "Đang mở",
            "Reports not yet resolved or rejected, now.",
            f'SELECT count(*) AS "Đang mở" FROM incident_backlog WHERE {WHERE}',
            (6, 0, 6, 6),
            steps=fixed(PURPLE),
        ),
        stat(
            "Quá hạn xử lý",
            "Open reports past their deadline (5 working days), now.",
            f'SELECT count(*) FILTER (WHERE overdue) AS "Quá hạn" FROM incident_backlog '
            f"WHERE {WHERE}",
            (12, 0, 6, 6),
            steps=thresholds((None, GREEN), (1, ORANGE), (25, RED)),
        ),
        stat(
            "Xử lý đúng hạn",
            "Reports resolved within their deadline / all resolved, in the time range.",
            sql(
                "SELECT sum(resolved_on_time)::float8",
                '       / nullif(sum(resolved_on_time + resolved_late), 0) AS "Đúng hạn"',
                "FROM incident_events_1h",
                f"WHERE $__timeFilter(bucket) AND {WHERE}",
            ),
            (18, 0, 6, 6),
            unit="percentunit",
            decimals=1,
            steps=at_least(0.95, 0.85),
        ),
        panel(
            "geomap",
            "Bản đồ phản ánh đang mở",
            "Open field reports at their reported location; red when past the deadline.",
            sql(
                'SELECT latitude, longitude, title AS "Nội dung",',
                f'       {label("category", CATEGORIES)} AS "Lĩnh vực",',
                f'       {label("status", INCIDENT_STATUSES)} AS "Trạng thái",',
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
            "Reports received and resolved in the time range, by category.",
            sql(
                f'SELECT {label("category", CATEGORIES)} AS "Lĩnh vực",',
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
            "Open reports by where they are in their handling, now.",
            sql(
                f'SELECT {label("status", INCIDENT_STATUSES)} AS "Trạng thái", '
                'count(*) AS "Phản ánh"',
                "FROM incident_backlog",
                f"WHERE {WHERE}",
                "GROUP BY status",
                f"ORDER BY {order('status', INCIDENT_STATUSES)}",
            ),
            (14, 15, 10, 9),
            steps=fixed(PURPLE),
        ),
        table(
            "Theo địa bàn",
            "Per district-level unit: received and resolved in the time range, on-time share, "
            "mean citizen satisfaction (1-5), and open and overdue reports now.",
            sql(
                'SELECT d.name_vi AS "Địa bàn",',
                '       coalesce(f.received, 0) AS "Tiếp nhận",',
                '       coalesce(f.resolved, 0) AS "Đã xử lý",',
                '       f.on_time AS "Đúng hạn",',
                '       f.satisfaction AS "Hài lòng",',
                '       coalesce(b.open, 0) AS "Đang mở",',
                '       coalesce(b.overdue, 0) AS "Quá hạn"',
                "FROM districts AS d",
                "LEFT JOIN (",
                "    SELECT district, sum(received) AS received, sum(resolved) AS resolved,",
                "           sum(resolved_on_time)::float8",
                "               / nullif(sum(resolved_on_time + resolved_late), 0) AS on_time,",
                "           sum(satisfaction_sum)::float8 / nullif(sum(satisfaction_count), 0)",
                "               AS satisfaction",
                "    FROM incident_events_1h",
                f"    WHERE $__timeFilter(bucket) AND {WHERE} GROUP BY district",
                ") AS f ON f.district = d.code",
                "LEFT JOIN (",
                "    SELECT district, count(*) AS open, count(*) FILTER (WHERE overdue) AS overdue",
                f"    FROM incident_backlog WHERE {WHERE} GROUP BY district",
                ") AS b ON b.district = d.code",
                f"WHERE d.province = {PROVINCE} AND d.code IN ({DISTRICTS})",
                "ORDER BY d.population DESC",
            ),
            (0, 24, 12, 10),
            overrides=[
                colored_cells("Đúng hạn", at_least(0.95, 0.85), "percentunit"),
                colored_cells("Hài lòng", at_least(4.0, 3.0)),
                override("Hài lòng", decimals=1),
                colored_cells("Quá hạn", thresholds((None, GREEN), (1, ORANGE), (5, RED))),
            ],
        ),
        timeseries(
            "Xu hướng 30 ngày",
            "Reports received and resolved per local calendar day over the last 30 days.",
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
            (12, 24, 12, 10),
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
            "The 20 oldest open reports, with their handling unit and deadline.",
            sql(
                'SELECT b.reported_at AS "Tiếp nhận lúc",',
                '       b.report_id AS "Mã",',
                '       b.title AS "Nội dung",',
                f'       {label("b.category", CATEGORIES)} AS "Lĩnh vực",',
                '       d.name_vi AS "Địa bàn",',
                f'       {label("b.status", INCIDENT_STATUSES)} AS "Trạng thái",',
                '       b.handling_unit AS "Đơn vị xử lý",',
                '       b.due_at AS "Hạn xử lý",',
                '       extract(epoch FROM b.age) / 3600 AS "Số giờ"',
                "FROM incident_backlog AS b",
                "JOIN districts AS d ON d.province = b.province AND d.code = b.district",
                f"WHERE b.province = {PROVINCE} AND b.district IN ({DISTRICTS})",
                "ORDER BY b.reported_at",
                "LIMIT 20",
            ),
            (0, 34, 24, 11),
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
        "Citizens' field reports (phản ánh hiện trường): intake by category and district, the "
        "open backlog by status, on-time handling, a map of open reports and the oldest ones.",
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
