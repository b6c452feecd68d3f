"""Reference data: the provinces and district-level units the IOC knows, with Vietnamese names.

Populations are rounded census figures; the simulators weight their load by them and
``ioc db migrate`` loads this table into ``provinces``/``districts`` for dashboard labels.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class District:
    code: str
    name: str
    name_vi: str
    population: int
    latitude: float
    longitude: float


@dataclass(frozen=True, slots=True)
class Province:
    code: str
    name: str
    name_vi: str
    latitude: float
    longitude: float
    districts: tuple[District, ...]

    @property
    def population(self) -> int:
        return sum(d.population for d in self.districts)

    def district(self, code: str) -> District:
        for d in self.districts:
            if d.code == code:
                return d
        raise KeyError(f"{self.code} has no district {code!r}")


D = District

PROVINCES: dict[str, Province] = {
    p.code: p
    for p in (
        Province(
            "ba-ria-vung-tau",
            "Ba Ria-Vung Tau",
            "Bà Rịa - Vũng Tàu",
            10.50,
            107.17,
            (
                D("vung-tau", "Vung Tau", "Vũng Tàu", 527_000, 10.346, 107.084),
                D("ba-ria", "Ba Ria", "Bà Rịa", 205_000, 10.496, 107.168),
                D("phu-my", "Phu My", "Phú Mỹ", 220_000, 10.588, 107.050),
                D("chau-duc", "Chau Duc", "Châu Đức", 160_000, 10.650, 107.250),
                D("xuyen-moc", "Xuyen Moc", "Xuyên Mộc", 150_000, 10.560, 107.420),
                D("long-dien", "Long Dien", "Long Điền", 140_000, 10.450, 107.210),
                D("dat-do", "Dat Do", "Đất Đỏ", 115_000, 10.480, 107.270),
                D("con-dao", "Con Dao", "Côn Đảo", 10_000, 8.680, 106.610),
            ),
        ),
        Province(
            "binh-duong",
            "Binh Duong",
            "Bình Dương",
            11.10,
            106.65,
            (
                D("thu-dau-mot", "Thu Dau Mot", "Thủ Dầu Một", 322_000, 10.980, 106.650),
                D("di-an", "Di An", "Dĩ An", 474_000, 10.900, 106.770),
                D("thuan-an", "Thuan An", "Thuận An", 618_000, 10.920, 106.710),
                D("tan-uyen", "Tan Uyen", "Tân Uyên", 370_000, 11.060, 106.800),
                D("ben-cat", "Ben Cat", "Bến Cát", 290_000, 11.150, 106.590),
                D("bau-bang", "Bau Bang", "Bàu Bàng", 100_000, 11.270, 106.630),
                D("bac-tan-uyen", "Bac Tan Uyen", "Bắc Tân Uyên", 70_000, 11.150, 106.850),
                D("dau-tieng", "Dau Tieng", "Dầu Tiếng", 115_000, 11.280, 106.370),
                D("phu-giao", "Phu Giao", "Phú Giáo", 95_000, 11.290, 106.790),
            ),
        ),
        Province(
            "quang-ninh",
            "Quang Ninh",
            "Quảng Ninh",
            21.10,
            107.30,
            (
                D("ha-long", "Ha Long", "Hạ Long", 330_000, 20.950, 107.080),
                D("cam-pha", "Cam Pha", "Cẩm Phả", 200_000, 21.010, 107.290),
                D("uong-bi", "Uong Bi", "Uông Bí", 120_000, 21.040, 106.770),
                D("mong-cai", "Mong Cai", "Móng Cái", 110_000, 21.520, 107.970),
                D("dong-trieu", "Dong Trieu", "Đông Triều", 175_000, 21.080, 106.520),
                D("quang-yen", "Quang Yen", "Quảng Yên", 150_000, 20.940, 106.800),
                D("van-don", "Van Don", "Vân Đồn", 50_000, 21.070, 107.420),
                D("tien-yen", "Tien Yen", "Tiên Yên", 50_000, 21.330, 107.400),
                D("hai-ha", "Hai Ha", "Hải Hà", 65_000, 21.450, 107.750),
                D("dam-ha", "Dam Ha", "Đầm Hà", 42_000, 21.350, 107.600),
                D("binh-lieu", "Binh Lieu", "Bình Liêu", 32_000, 21.530, 107.400),
                D("ba-che", "Ba Che", "Ba Chẽ", 22_000, 21.270, 107.280),
                D("co-to", "Co To", "Cô Tô", 6_000, 20.980, 107.770),
            ),
        ),
    )
}
