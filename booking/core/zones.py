"""IANA time zones: validation, choices and conversion at the edges."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

#: The one name for clinic time. Every clinic we list is in Bangkok: plans, leave, holidays and
#: staff pages are in this zone (a clinic elsewhere would make this a column again).
CLINIC_ZONE_NAME = "Asia/Bangkok"
CLINIC_ZONE = ZoneInfo(CLINIC_ZONE_NAME)


#: Where patients most often write from: offered first, before every zone by region.
COMMON_ZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
                "America/Toronto", "America/Vancouver", "Europe/London", "Europe/Paris",
                "Europe/Berlin", "Asia/Dubai", "Asia/Kolkata", "Asia/Singapore",
                "Asia/Hong_Kong", "Asia/Shanghai", "Asia/Tokyo", "Australia/Sydney",
                "Australia/Melbourne", "Australia/Perth", "Pacific/Auckland", "Asia/Bangkok")
REGIONS = ("Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia",
           "Europe", "Indian", "Pacific")


def _tzdata_file(name: str) -> str:
    """A file of the IANA tz database as shipped by the tzdata package (or the system's)."""
    try:
        from importlib.resources import files

        return files("tzdata").joinpath("zoneinfo", name).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        with open(f"/usr/share/zoneinfo/{name}", encoding="utf-8") as f:
            return f.read()


@lru_cache(maxsize=1)
def _zone_table() -> dict[str, str]:
    """zone.tab: one zone per country or region of it -> the country's ISO code. The names
    people recognise (Europe/Amsterdam, Asia/Kolkata), never the old aliases."""
    table = {}
    for line in _tzdata_file("zone.tab").splitlines():
        if line and not line.startswith("#"):
            code, _coords, zone, *_rest = line.split("\t")
            table[zone] = code
    return table


@lru_cache(maxsize=1)
def _links() -> dict[str, str]:
    """Old or alternative name -> the zone it stands for (Asia/Calcutta -> Asia/Kolkata)."""
    links = {}
    for line in _tzdata_file("tzdata.zi").splitlines():
        if line.startswith("L "):
            _l, target, alias = line.split()[:3]
            links[alias] = target
    return links


@lru_cache(maxsize=1)
def all_zones() -> tuple[str, ...]:
    """The zones people choose from: one per country or region (zone.tab) and UTC, sorted."""
    return tuple(sorted({*_zone_table(), "UTC"}))


@lru_cache(maxsize=1)
def aliases() -> dict[str, tuple[str, ...]]:
    """Listed zone -> its old names (browsers still report some: Chrome says Asia/Calcutta)."""
    found: dict[str, list[str]] = {}
    for alias, target in _links().items():
        if target in _zone_table() and "/" in alias:
            found.setdefault(target, []).append(alias)
    return {zone: tuple(sorted(names)) for zone, names in found.items()}


def canonical_zone(name: str | None) -> str | None:
    """The listed name for a zone (an alias such as Asia/Calcutta becomes Asia/Kolkata), or
    None when it is no zone at all."""
    if not name or not is_valid_zone(name):
        return None
    if name in _zone_table() or name == "UTC":
        return name
    target = _links().get(name, name)
    return target if target in _zone_table() else name


def _offset(zone: str, now: datetime) -> str:
    delta = now.astimezone(ZoneInfo(zone)).utcoffset() or timedelta(0)
    minutes = int(delta.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "\u2212"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


@lru_cache(maxsize=32)
def _grouped(locale: str, day: date) -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    from babel import Locale

    territories = Locale.parse(locale).territories
    now = datetime.combine(day, time(12), tzinfo=UTC)

    def label(zone: str) -> str:
        city = zone.rsplit("/", 1)[-1].replace("_", " ")
        country = territories.get(_zone_table().get(zone, ""), "")
        return f"{city}{' · ' + country if country and country != city else ''} " \
               f"({_offset(zone, now)})"

    groups = [("common", tuple((z, label(z)) for z in COMMON_ZONES))]
    by_region: dict[str, list[str]] = {}
    for zone in set(all_zones()) - set(COMMON_ZONES):
        by_region.setdefault(zone.split("/", 1)[0] if "/" in zone else "UTC", []).append(zone)
    for region in (*REGIONS, "UTC"):
        zones = sorted(by_region.get(region, ()),
                       key=lambda z: (now.astimezone(ZoneInfo(z)).utcoffset(), z))
        if zones:
            groups.append((region, tuple((z, label(z)) for z in zones)))
    return tuple(groups)


def zone_groups(locale: str, now: datetime | None = None) -> dict[str, list[tuple[str, str]]]:
    """The picker's options by group, as WTForms' optgroups take them: common zones first,
    then every other zone by region, west to east; each labelled with its city, country and
    offset today ("Chicago · United States (UTC−06:00)"). Cached per language and day."""
    from flask_babel import lazy_gettext as _l

    names = {"common": _l("Common time zones"), "Africa": _l("Africa"),
             "America": _l("Americas"), "Antarctica": _l("Antarctica"), "Arctic": _l("Arctic"),
             "Asia": _l("Asia"), "Atlantic": _l("Atlantic"), "Australia": _l("Australia"),
             "Europe": _l("Europe"), "Indian": _l("Indian Ocean"), "Pacific": _l("Pacific"),
             "UTC": _l("Coordinated Universal Time")}
    return {str(names[group]): list(options)
            for group, options in _grouped(locale, (now or datetime.now(UTC)).date())}


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
