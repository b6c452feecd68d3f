"""The IOC overview (``ioc-overview``): the province at a glance."""

from __future__ import annotations

from typing import Any

from ioc_dashboards.panels import (
    BLUE,
    DISTRICTS,
    DOSSIER_ON_TIME,
    GREEN,
    INDEX,
    INDEX_BANDS,
    INDEX_DESCRIPTION,
    ON_TIME_DESCRIPTION,
    OPEN_REPORTS,
    ORANGE,
    OVERDUE_REPORTS,
    PAYMENT_SUCCESS,
    PROVINCE,
    RED,
    WHERE,
    alert_annotation,
    at_least,
    banded,
    bargauge,
    colored_cells,
    dashboard,
    fixed,
    label,
    order,
    override,
    severity_cells,
    sql,
    stat,
    table,
    thresholds,
    timeseries,
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
    digitised = sql(
        "SELECT files_digitised AS value, dossiers AS n",
        f"FROM service_index_rates({PROVINCE}, $__timeFrom(), $__timeTo())",
        "WHERE agency_level IS NULL",
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
            DOSSIER_ON_TIME,
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
            OPEN_REPORTS,
            (0, 13, 6, 6),
            steps=fixed(BLUE),
        ),
        banded(
            "Phản ánh quá hạn xử lý",
            "Số phản ánh đang mở đã quá hạn xử lý, tại thời điểm hiện tại; màu theo tỷ lệ quá "
            "hạn trên số phản ánh đang mở so với tỷ lệ trễ hạn cho phép (100% - mục tiêu xử lý "
            "đúng hạn).",
            OVERDUE_REPORTS,
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
            PAYMENT_SUCCESS,
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
