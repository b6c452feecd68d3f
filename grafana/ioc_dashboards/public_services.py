"""Public services (``ioc-public-services``): dossiers by agency, level and channel."""

from __future__ import annotations

from typing import Any

from ioc_dashboards.panels import (
    AGENCY_KPIS,
    BLUE,
    DOSSIER_ON_TIME,
    GREEN,
    LOCAL_DAY,
    ON_TIME_DESCRIPTION,
    ORANGE,
    PERIOD_KPIS,
    PURPLE,
    RATES,
    RED,
    WHERE,
    alert_annotation,
    at_least,
    at_most,
    banded,
    barchart,
    colored_cells,
    dashboard,
    fixed,
    label,
    order,
    override,
    piechart,
    series_color,
    sql,
    stat,
    table,
    thresholds,
    timeseries,
)


def public_services() -> dict[str, Any]:
    flows = [
        ("Tiếp nhận mới", "received", BLUE),
        ("Kỳ trước chuyển sang", "carried_over", PURPLE),
        ("Giải quyết trước hạn", "resolved_early", GREEN),
        ("Giải quyết đúng hạn", "resolved_on_time", "semi-dark-green"),
        ("Giải quyết trễ hạn", "resolved_late", RED),
        ("Từ chối / trả lại", "rejected", "text"),
    ]
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
            DOSSIER_ON_TIME,
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
