"""The wall-screen dashboards as Python data; ``grafana/build_dashboards.py`` writes them.

panels.py           the panel builders, thresholds, target bands and the dashboard frame
overview.py         ``ioc-overview``
public_services.py  ``ioc-public-services``
payments.py         ``ioc-payments``
field_reports.py    ``ioc-field-reports``
"""

from ioc_dashboards.field_reports import field_reports
from ioc_dashboards.overview import overview
from ioc_dashboards.payments import payments
from ioc_dashboards.public_services import public_services

DASHBOARDS = {
    "ioc-overview.json": overview,
    "ioc-public-services.json": public_services,
    "ioc-payments.json": payments,
    "ioc-field-reports.json": field_reports,
}
"""Each file of grafana/dashboards/ and the function that builds it."""
