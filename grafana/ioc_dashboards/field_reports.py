"""Field reports (``ioc-field-reports``): reports by category, handling, map."""

from __future__ import annotations

from typing import Any

from ioc_dashboards.panels import (
    BLUE,
    DISTRICTS,
    FIELD_REPORT_KPIS,
    GREEN,
    LOCAL_DAY,
    OPEN_REPORTS,
    ORANGE,
    OVERDUE_REPORTS,
    PROVINCE,
    PURPLE,
    RED,
    WHERE,
    alert_annotation,
    at_least,
    at_most,
    banded,
    barchart,
    bargauge,
    colored_cells,
    dashboard,
    fixed,
    label,
    order,
    override,
    panel,
    piechart,
    series_color,
    sql,
    stat,
    table,
    thresholds,
    timeseries,
)


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
            OPEN_REPORTS,
            (6, 0, 6, 6),
            steps=fixed(PURPLE),
        ),
        banded(
            "Quá hạn xử lý",
            "Phản ánh đang mở đã quá hạn xử lý (24 giờ với sự cố nguy hiểm, 2 ngày làm việc với "
            "sự cố điện, nước, cây xanh, chiếu sáng, giao thông, 5 ngày làm việc với loại khác), "
            "tại thời điểm hiện tại; màu theo tỷ lệ quá hạn trên số phản ánh đang mở.",
            OVERDUE_REPORTS,
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
