"""Payments (``ioc-payments``): success, methods, gateways, sectors, amounts."""

from __future__ import annotations

from typing import Any

from ioc_dashboards.panels import (
    BLUE,
    GREEN,
    LOCAL_DAY,
    ORANGE,
    PAYMENT_SUCCESS,
    PURPLE,
    RED,
    WHERE,
    alert_annotation,
    at_least,
    at_most,
    banded,
    bargauge,
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


def payments() -> dict[str, Any]:
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
            PAYMENT_SUCCESS,
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
