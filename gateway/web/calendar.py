"""Working days and the post rules of KVK access codes.

KVK: "Did you opt to receive the code by post, and did you do so on a working day before 15:00
hours? Then we will send it to you the same day. PostNL will deliver it within 5 working days."
and "we will block or close the access code within one working day"
(seeds/kvk-access-codes.txt). Working days: Monday to Friday except the holidays in
schemas/zdj/holidays-nl.json.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from gateway.resources import load_json
from gateway.web.rules import rules


class CalendarUnknown(ValueError):
    """The holiday table has no entry for this year: extend schemas/zdj/holidays-nl.json."""


@cache
def _holidays() -> dict[int, frozenset[date]]:
    years = load_json("zdj/holidays-nl.json")["years"]
    return {int(y): frozenset(date.fromisoformat(d) for d in days) for y, days in years.items()}


def is_working_day(day: date) -> bool:
    table = _holidays()
    if day.year not in table:
        raise CalendarUnknown(f"no Dutch public holidays on file for {day.year}")
    return day.weekday() < 5 and day not in table[day.year]


def next_working_day(day: date) -> date:
    """The first working day strictly after ``day``."""
    day += timedelta(days=1)
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def add_working_days(day: date, count: int) -> date:
    for _ in range(count):
        day = next_working_day(day)
    return day


@dataclass(frozen=True)
class PostSchedule:
    dispatch_on: date
    deliver_by: date


def _post() -> tuple[ZoneInfo, time, int]:
    spec = rules()["post"]
    return ZoneInfo(spec["timezone"]), time.fromisoformat(spec["cutoff"]), int(spec["delivery_working_days"])


def post_schedule(requested_at: datetime) -> PostSchedule:
    """When a letter requested at ``requested_at`` (aware) is sent and by when it arrives."""
    if requested_at.tzinfo is None:
        raise ValueError("requested_at must carry a time zone")
    zone, cutoff, days = _post()
    local = requested_at.astimezone(zone)
    same_day = is_working_day(local.date()) and local.time() < cutoff
    dispatch = local.date() if same_day else next_working_day(local.date())
    return PostSchedule(dispatch, add_working_days(dispatch, days))


def request_due(requested_at: datetime) -> date:
    """The day by which a block or close requested at ``requested_at`` must be done."""
    zone, _, _ = _post()
    days = int(rules()["requests"]["block_or_close_within_working_days"])
    return add_working_days(requested_at.astimezone(zone).date(), days)
