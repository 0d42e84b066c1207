"""IANA time zones: validation, choices and conversion at the edges."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

CLINIC_ZONE = ZoneInfo("Asia/Bangkok")


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


def to_zone(instant: datetime, zone: str) -> datetime:
    return instant.astimezone(ZoneInfo(zone))
