"""The coordinator's calendar as a time grid: columns (doctors of a day, or the days of a
week), rows of 15 minutes in Bangkok time, and what falls where: bookings and holds, leave,
blocks, extra hours, closures, and the doctor's working hours behind them. Entries that
overlap in a column get lanes side by side, and a booking that overlaps leave, a block or a
closure is marked as a conflict, so it is seen at a glance. Pure layout: the view loads the
rows (a fixed number of queries whatever the number of bookings)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from booking.core.zones import CLINIC_ZONE
from booking.scheduling.models import ACTIVE_STATES, Booking, ScheduleException

STEP = 15  # minutes a row
DEFAULT_HOURS = (8, 18)
MAX_LANES = 8


@dataclass
class Entry:
    kind: str  # booking | leave | block | extra | closure | work
    start: datetime
    end: datetime
    booking: Booking | None = None
    exception: ScheduleException | None = None
    row: int = 1
    span: int = 1
    lane: int = 1
    conflict: bool = False
    #: For a "count" entry: how many bookings start in that hour (a busy week, all doctors).
    count: int = 0


@dataclass
class Column:
    day: date
    title: str
    doctor_id: int | None = None
    holiday: str | None = None
    entries: list[Entry] = field(default_factory=list)
    lanes: int = 1


@dataclass
class Grid:
    first_hour: int
    last_hour: int
    columns: list[Column]

    @property
    def rows(self) -> int:
        return (self.last_hour - self.first_hour) * 60 // STEP

    @property
    def hours(self) -> list[datetime]:
        """The hour lines, as instants of the first column's day (shown with `clock`)."""
        day = self.columns[0].day if self.columns else date.today()
        return [datetime.combine(day, time(h), tzinfo=CLINIC_ZONE)
                for h in range(self.first_hour, self.last_hour)]


def _local(moment: datetime) -> datetime:
    return moment.astimezone(CLINIC_ZONE)


def _hours(columns: list[Column]) -> tuple[int, int]:
    """The visible hours: the usual day, widened to whatever falls outside it."""
    first, last = DEFAULT_HOURS
    for column in columns:
        midnight = datetime.combine(column.day, time.min, tzinfo=CLINIC_ZONE)
        for entry in column.entries:
            start = max((_local(entry.start) - midnight).total_seconds() / 3600, 0)
            end = min((_local(entry.end) - midnight).total_seconds() / 3600, 24)
            if entry.kind in ("closure", "leave") and start <= 0 and end >= 24:
                continue  # a whole-day closure or leave does not widen the day
            first, last = min(first, int(start)), max(last, int(-(-end // 1)))
    return first, max(last, first + 1)


def _place(column: Column, first_hour: int, last_hour: int) -> None:
    """Rows, spans and lanes for the entries of one column (clipped to the visible hours)."""
    top = datetime.combine(column.day, time(first_hour), tzinfo=CLINIC_ZONE)
    bottom = datetime.combine(column.day, time.min, tzinfo=CLINIC_ZONE) + timedelta(
        hours=last_hour)
    rows = (last_hour - first_hour) * 60 // STEP
    kept = []
    for entry in column.entries:
        start, end = max(_local(entry.start), top), min(_local(entry.end), bottom)
        if end <= start:
            continue
        entry.row = int((start - top).total_seconds() // 60 // STEP) + 1
        entry.span = max(1, min(rows - entry.row + 1,
                                -(-int((end - start).total_seconds() // 60) // STEP)))
        kept.append(entry)
    column.entries = kept
    # Lanes: working hours sit behind everything; the rest side by side where they overlap.
    ends: list[int] = []
    for entry in sorted((e for e in kept if e.kind != "work"), key=lambda e: (e.row, -e.span)):
        for lane, busy_until in enumerate(ends):
            if busy_until < entry.row:
                entry.lane, ends[lane] = lane + 1, entry.row + entry.span - 1
                break
        else:
            ends.append(entry.row + entry.span - 1)
            entry.lane = min(len(ends), MAX_LANES)
    column.lanes = max(1, min(len(ends), MAX_LANES))
    blocked = [e for e in kept if e.kind in ("leave", "block", "closure")]
    for entry in kept:
        if entry.booking is not None and entry.booking.state in ACTIVE_STATES:
            entry.conflict = any(
                b.start < entry.end and b.end > entry.start
                and (b.exception is None or b.exception.doctor_id in (None,
                                                                      entry.booking.doctor_id))
                for b in blocked)


def exception_entry(exc: ScheduleException) -> Entry:
    """Leave, a block or extra hours of one doctor; without a doctor, a clinic closure."""
    kind = exc.kind if exc.doctor_id is not None else "closure"
    return Entry(kind=kind, start=exc.starts_at, end=exc.ends_at, exception=exc)


def build(columns: list[Column], bookings: Iterable[Booking],
          exceptions: Iterable[ScheduleException],
          work: dict[tuple[date, int | None], list[tuple[datetime, datetime]]],
          *, hour_counts: dict[datetime, int] | None = None) -> Grid:
    """Put each booking and exception in the columns it belongs to (its day, and its doctor
    when the columns are doctors), add the working hours, and lay them out. `hour_counts`
    (hour's start -> bookings starting in it): too many to show one by one (a busy clinic's
    week, all doctors), so one entry per hour says how many."""
    by_key = {(c.day, c.doctor_id): c for c in columns}
    doctors_as_columns = any(c.doctor_id is not None for c in columns)

    def targets(day: date, doctor_id: int | None) -> list[Column]:
        if not doctors_as_columns:
            return [c for c in (by_key.get((day, None)),) if c]
        if doctor_id is None:  # a closure: every doctor that day
            return [c for c in columns if c.day == day]
        return [c for c in (by_key.get((day, doctor_id)),) if c]

    for booking in bookings:
        for column in targets(_local(booking.starts_at).date(), booking.doctor_id):
            column.entries.append(Entry("booking", booking.starts_at, booking.ends_at,
                                        booking=booking))
    for hour, count in (hour_counts or {}).items():
        for column in targets(_local(hour).date(), None):
            column.entries.append(Entry("count", hour, hour + timedelta(hours=1), count=count))
    days = sorted({c.day for c in columns})
    for exc in exceptions:
        for day in days:
            midnight = datetime.combine(day, time.min, tzinfo=CLINIC_ZONE)
            if exc.starts_at < midnight + timedelta(days=1) and exc.ends_at > midnight:
                for column in targets(day, exc.doctor_id):
                    column.entries.append(exception_entry(exc))
    for (day, doctor_id), spans in work.items():
        for column in targets(day, doctor_id) if doctor_id else []:
            for start, end in spans:
                column.entries.append(Entry("work", start, end))
    first, last = _hours(columns)
    for column in columns:
        _place(column, first, last)
    return Grid(first, last, columns)
