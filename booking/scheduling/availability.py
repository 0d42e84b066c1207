"""Slot search: a doctor's weekly plan, minus leave, blocks, closures, holidays and bookings.

Reads a fixed number of queries whatever the size of the booking history: plans, exceptions,
holidays and the active bookings inside the searched window."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select

from booking.catalogue.models import ConsultationType, Doctor
from booking.core.zones import CLINIC_ZONE
from booking.extensions import db
from booking.scheduling.models import (
    ACTIVE_STATES,
    Booking,
    Holiday,
    ScheduleException,
    WorkingInterval,
)

Interval = tuple[datetime, datetime]


@dataclass(frozen=True, order=True)
class Slot:
    start: datetime
    end: datetime
    doctor_id: int


def _subtract(intervals: list[Interval], cuts: list[Interval]) -> list[Interval]:
    """Intervals with every cut removed."""
    result = intervals
    for cut_start, cut_end in cuts:
        pieces: list[Interval] = []
        for start, end in result:
            if cut_end <= start or cut_start >= end:
                pieces.append((start, end))
                continue
            if start < cut_start:
                pieces.append((start, cut_start))
            if cut_end < end:
                pieces.append((cut_end, end))
        result = pieces
    return result


def local_instant(day: date, clock: time, zone: ZoneInfo = CLINIC_ZONE) -> datetime:
    """The UTC instant of a wall-clock time on a day in clinic time."""
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)


def search_window(ctype: ConsultationType, now: datetime) -> Interval:
    """The earliest and latest start a patient may book right now."""
    return (now + timedelta(minutes=ctype.min_notice_minutes),
            now + timedelta(days=ctype.horizon_days))


def find_slots(
    ctype: ConsultationType,
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    doctor_ids: list[int] | None = None,
    ignore_booking_id: int | None = None,
) -> list[Slot]:
    """Free slots whose start lies in [start, end), sorted by time then doctor."""
    earliest, latest = search_window(ctype, now)
    start, end = max(start, earliest), min(end, latest)
    if start >= end:
        return []
    zone = CLINIC_ZONE
    doctors_query = select(Doctor.id).where(Doctor.clinic_id == ctype.clinic_id, Doctor.active)
    if doctor_ids:
        doctors_query = doctors_query.where(Doctor.id.in_(doctor_ids))
    doctors = list(db.session.scalars(doctors_query))
    if not doctors:
        return []

    before = timedelta(minutes=ctype.buffer_before_minutes)
    after = timedelta(minutes=ctype.buffer_after_minutes)
    length = timedelta(minutes=ctype.duration_minutes)
    # Widen the window so a consultation that starts inside it but whose buffers reach outside
    # is still checked against its neighbours.
    lo, hi = start - before - length - after, end + length + after + before

    plans: dict[int, dict[int, list[tuple[time, time]]]] = defaultdict(lambda: defaultdict(list))
    for row in db.session.scalars(
            select(WorkingInterval).where(WorkingInterval.doctor_id.in_(doctors))):
        plans[row.doctor_id][row.weekday].append((row.start_time, row.end_time))

    exceptions = db.session.scalars(select(ScheduleException).where(
        ScheduleException.clinic_id == ctype.clinic_id,
        or_(ScheduleException.doctor_id.in_(doctors), ScheduleException.doctor_id.is_(None)),
        ScheduleException.starts_at < hi, ScheduleException.ends_at > lo,
    )).all()

    first_day = lo.astimezone(zone).date()
    last_day = hi.astimezone(zone).date()
    holidays = set(db.session.scalars(
        select(Holiday.day).where(Holiday.day >= first_day, Holiday.day <= last_day)))

    taken: dict[int, list[Interval]] = defaultdict(list)
    booking_query = select(Booking.doctor_id, Booking.blocked_from, Booking.blocked_until).where(
        Booking.doctor_id.in_(doctors), Booking.state.in_(ACTIVE_STATES),
        Booking.blocked_from < hi, Booking.blocked_until > lo)
    if ignore_booking_id is not None:
        booking_query = booking_query.where(Booking.id != ignore_booking_id)
    for doctor_id, blocked_from, blocked_until in db.session.execute(booking_query):
        taken[doctor_id].append((blocked_from, blocked_until))

    slots: list[Slot] = []
    for doctor_id in doctors:
        open_time: list[Interval] = []
        day = first_day
        while day <= last_day:
            if day not in holidays:
                for clock_from, clock_to in plans[doctor_id].get(day.weekday(), []):
                    open_time.append((local_instant(day, clock_from, zone),
                                      local_instant(day, clock_to, zone)))
            day += timedelta(days=1)
        cuts: list[Interval] = []
        for exc in exceptions:
            if exc.doctor_id not in (None, doctor_id):
                continue
            if exc.kind == "extra":
                open_time.append((exc.starts_at, exc.ends_at))
            else:
                cuts.append((exc.starts_at, exc.ends_at))
        # An explicit "extra" exception opens time even on a holiday; bookings take their
        # blocked time (consultation plus buffers).
        free = _subtract(sorted(open_time), cuts + taken[doctor_id])
        step = before + length + after
        for free_from, free_to in free:
            candidate = free_from + before
            while candidate + length + after <= free_to:
                if start <= candidate < end:
                    slots.append(Slot(candidate, candidate + length, doctor_id))
                candidate += step
    # Two free pieces can come from one plan interval split by a booking; that is fine.
    return sorted(set(slots))


def answer_lasts_until(ctype: ConsultationType, slots: list[Slot], *, end: datetime,
                       now: datetime) -> datetime | None:
    """Until when `find_slots(ctype, start=…, end=end, now=now)`'s answer (`slots`, sorted)
    stays the answer while only the clock moves (a schedule change is the cache's version):

    - until its first slot falls inside the minimum notice (later slots go after it);
    - when the horizon cut the window short, only until the next minute: a new slot can open
      at the far end any minute;
    - else (no slot, window whole) for as long as nothing is written: None."""
    limits = []
    if slots:
        limits.append(slots[0].start - timedelta(minutes=ctype.min_notice_minutes))
    if end > search_window(ctype, now)[1]:
        limits.append(now.replace(second=0, microsecond=0) + timedelta(minutes=1))
    return min(limits, default=None)


def is_bookable(ctype: ConsultationType, doctor_id: int, start: datetime, now: datetime,
                ignore_booking_id: int | None = None) -> bool:
    """Whether `start` is one of the free slots for this doctor right now."""
    slots = find_slots(ctype, start=start, end=start + timedelta(minutes=1), now=now,
                       doctor_ids=[doctor_id], ignore_booking_id=ignore_booking_id)
    return any(s.start == start for s in slots)
