"""IANA time zones: validation, choices and conversion at the edges."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

#: The one name for clinic time. Every clinic we list is in Bangkok: plans, leave, holidays and
#: staff pages are in this zone (a clinic elsewhere would make this a column again).
CLINIC_ZONE_NAME = "Asia/Bangkok"
CLINIC_ZONE = ZoneInfo(CLINIC_ZONE_NAME)


@lru_cache(maxsize=1)
def all_zones() -> tuple[str, ...]:
    """Every canonical-looking IANA zone name, sorted, without the legacy aliases."""
    zones = {
        z
        for z in available_timezones()
        if "/" in z and not z.startswith(("Etc/", "SystemV/", "US/", "posix/", "right/"))
    }
    zones.add("UTC")
    return tuple(sorted(zones))


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    # available_timezones() scans the tz database on disk each call; once is enough.
    return frozenset(available_timezones())


def is_valid_zone(name: str | None) -> bool:
    return bool(name) and name in _known_zones()


def days_in_utc(first: date, last_exclusive: date | None = None,
                zone: ZoneInfo = CLINIC_ZONE) -> tuple[datetime, datetime]:
    """The days from `first` up to `last_exclusive` (just `first` by default), in `zone` (the
    clinic's unless told), as a UTC range [start, end). Each end is a midnight in the zone, so
    a day across a DST change is 23 or 25 hours long."""
    last_exclusive = last_exclusive or first + timedelta(days=1)
    return (datetime.combine(first, time.min, tzinfo=zone).astimezone(UTC),
            datetime.combine(last_exclusive, time.min, tzinfo=zone).astimezone(UTC))
