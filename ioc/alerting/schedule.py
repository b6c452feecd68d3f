"""When a rule is judged at all: always, or during the public administration's office hours.

Office hours are 07:30-17:00 in Asia/Ho_Chi_Minh (UTC+7, no daylight saving) on working
days: Monday to Friday except public holidays, their make-up days and bridge days, plus the
Saturdays worked in exchange (``ioc.domain.calendar``): on Tết the portal is allowed to be quiet.
A rule with ``schedule: office_hours`` is judged only when the whole span its KPI looks at
lies inside one day's office hours: at 07:40 a 15-minute window still covers 07:25,
when the portal is allowed to be quiet, so "no submissions for 15 minutes" is first judged at
07:45. Outside the schedule the condition counts as not met.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from enum import StrEnum

from ioc.domain.calendar import is_working_day
from ioc.models import VN_TZ

OFFICE_OPENS = time(7, 30)
OFFICE_CLOSES = time(17, 0)


class Schedule(StrEnum):
    ALWAYS = "always"
    OFFICE_HOURS = "office_hours"


def in_office_hours(moment: datetime) -> bool:
    local = moment.astimezone(VN_TZ)
    return OFFICE_OPENS <= local.time() < OFFICE_CLOSES and is_working_day(local.date())


def covers(schedule: Schedule, now: datetime, lookback: timedelta) -> bool:
    """Whether ``schedule`` covers the whole span ``[now - lookback, now]``."""
    if schedule is Schedule.ALWAYS:
        return True
    start = now - lookback
    return (
        in_office_hours(start)
        and in_office_hours(now)
        and start.astimezone(VN_TZ).date() == now.astimezone(VN_TZ).date()
    )
