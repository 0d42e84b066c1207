"""Cached availability never outlives a change: holds, cancellations, plans, holidays."""

from __future__ import annotations

import gzip
import json
import os
import time
from datetime import timedelta

import pytest
from sqlalchemy import event

from booking.extensions import db
from booking.scheduling import plans
from tests.conftest import bump_in_another_process
from tests.scheduling.helpers import ctype_for, first_free, hold, user

needs_redis = pytest.mark.skipif(not os.environ.get("TEST_REDIS_URL"),
                                 reason="the availability cache lives in Redis")


def _query(app):
    with app.app_context():
        ctype = ctype_for()
        slot = first_free(ctype)
        day = slot.start.date()
        return ctype.id, slot, {"consultation_type": ctype.id, "tz": "UTC",
                                "from": day.isoformat(), "to": day.isoformat()}


def _starts(client, query):
    response = client.get("/api/v1/availability", query_string=query)
    assert response.status_code == 200
    return {(s["start"], s["doctor"]) for s in response.json["slots"]}


def test_a_hold_and_its_cancellation_show_at_once(client, app, demo):
    _, slot, query = _query(app)
    key = (slot.start.isoformat().replace("+00:00", "Z"), slot.doctor_id)
    assert key in _starts(client, query)
    with app.app_context():
        booking = hold()  # the same first free slot
        assert (booking.starts_at, booking.doctor_id) == (slot.start, slot.doctor_id)
    assert key not in _starts(client, query)
    with app.app_context():
        from booking.scheduling import services
        from booking.scheduling.models import Booking

        services.cancel(user("patient@example.com"), db.session.get(Booking, booking.id))
        db.session.commit()
    assert key in _starts(client, query)


def test_a_new_holiday_closes_the_day_at_once(client, app, demo):
    _, slot, query = _query(app)
    assert _starts(client, query)
    with app.app_context():
        from booking.core.zones import CLINIC_ZONE

        plans.add_holiday(user("admin@example.com"),
                             slot.start.astimezone(CLINIC_ZONE).date(), "Surprise holiday")
        db.session.commit()
    assert _starts(client, query) == set()


@needs_redis
def test_repeated_requests_are_served_from_the_cache(client, app, demo):
    _, _, query = _query(app)
    _starts(client, query)
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def count(conn, cursor, statement, *args):  # noqa: ANN001
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        _starts(client, query)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    slot_queries = [s for s in statements if "working_interval" in s or "booking" in s]
    assert slot_queries == []


def test_switching_off_a_consultation_type_empties_its_cached_times(client, app, demo,
                                                                     as_role):
    ctype_id, _, query = _query(app)
    assert _starts(client, query)
    with app.app_context():
        from booking.catalogue import services as catalogue
        from booking.catalogue.models import ConsultationType

        ctype = db.session.get(ConsultationType, ctype_id)
        catalogue.save_consultation_type(user("admin@example.com"), ctype, {"active": False})
        db.session.commit()
    assert client.get("/api/v1/availability", query_string=query).status_code == 404


@needs_redis
def test_a_change_committed_by_another_process_is_seen_despite_this_process_copy(
        client, app, demo):
    """The body and the version may come from this process's memory, but a schedule change
    committed anywhere (here: the version bumped by another process, as a worker's commit
    would) is seen within moments and the copy is not served again."""
    from booking.scheduling import cache

    _, slot, query = _query(app)
    _starts(client, query)
    with app.app_context():
        seen: list[str] = []
        engine = db.engine
    def count(*args, **kwargs):  # noqa: ANN002, ANN003
        seen.append("x")

    event.listen(engine, "before_cursor_execute", count)
    try:
        _starts(client, query)
        assert seen == []  # served from a copy
        _starts(client, query)
        assert seen == []
        bump_in_another_process(app.config["REDIS_URL"], cache.VERSION_KEY, "incr")
        deadline = time.monotonic() + 5
        while not seen and time.monotonic() < deadline:
            _starts(client, query)
            time.sleep(0.01)
        assert seen  # computed again
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_this_process_keeps_at_most_its_byte_limit_of_answers():
    from booking.core.copies import VersionedCopies

    copies = VersionedCopies(60)
    for n in range(5):
        copies.put(f"k{n}", b"1", b"x" * 40, limit=100)
    assert copies.get("k4", b"1") and copies.get("k3", b"1")
    assert copies.get("k2", b"1") is None  # the least recently used went first
    assert copies.get("k4", b"2") is None  # another version is never served
    copies.put("huge", b"1", b"x" * 101, limit=100)
    assert copies.get("huge", b"1") is None


def test_a_local_copy_lives_no_longer_than_the_redis_one(monkeypatch):
    """A lost version bump or a Redis restart (its counter starts again) cannot keep an old
    answer in a process for ever: a local copy expires like the Redis one."""
    from booking.core import copies as kept
    from booking.scheduling import cache

    assert cache._local.ttl == cache.TTL_SECONDS
    copies = kept.VersionedCopies(cache.TTL_SECONDS)
    clock = [1000.0]
    monkeypatch.setattr(kept.time, "monotonic", lambda: clock[0])
    copies.put("k", b"7", b"answer", limit=1024)
    assert copies.get("k", b"7") == b"answer"
    clock[0] += cache.TTL_SECONDS + 1
    assert copies.get("k", b"7") is None


def test_a_client_that_accepts_gzip_gets_the_same_answer_compressed(client, app, demo):
    _, slot, query = _query(app)
    query = {**query, "to": (slot.start.date() + timedelta(days=13)).isoformat()}
    plain = client.get("/api/v1/availability", query_string=query)
    for _ in range(2):  # compressed once, then the kept copy (with Redis)
        packed = client.get("/api/v1/availability", query_string=query,
                            headers={"Accept-Encoding": "gzip"})
        assert packed.status_code == 200 and packed.headers["Content-Encoding"] == "gzip"
        assert "Accept-Encoding" in packed.headers["Vary"]
        assert len(packed.data) * 5 < len(plain.data)
        assert json.loads(gzip.decompress(packed.data)) == plain.json
    assert "Content-Encoding" not in plain.headers
    # No validator to answer a conditional request with (COMPRESS_EVALUATE_CONDITIONAL_REQUEST
    # is off): if one is ever added, that setting must be turned back on.
    assert "ETag" not in packed.headers and "Last-Modified" not in packed.headers
    # A hold changes the answer, and the compressed copy with it.
    key = (slot.start.isoformat().replace("+00:00", "Z"), slot.doctor_id)
    with app.app_context():
        hold()
    packed = client.get("/api/v1/availability", query_string=query,
                        headers={"Accept-Encoding": "gzip"})
    starts = {(s["start"], s["doctor"]) for s in json.loads(gzip.decompress(packed.data))["slots"]}
    assert key not in starts and starts


def _ahead(app):
    """A week of availability starting the day after the first free slot (well past the
    minimum notice), the moment its first slot falls inside the notice, and now."""
    from booking.api import views
    from booking.catalogue.models import ConsultationType

    ctype_id, slot, _ = _query(app)
    day = slot.start.date() + timedelta(days=1)
    query = {"consultation_type": ctype_id, "tz": "UTC", "from": day.isoformat(),
             "to": (day + timedelta(days=6)).isoformat()}
    with app.app_context():
        notice = timedelta(minutes=db.session.get(ConsultationType, ctype_id).min_notice_minutes)
    return query, notice, views.utcnow()


def _first_start(answer) -> str:  # noqa: ANN001
    return answer["slots"][0]["start"]


@needs_redis
def test_an_answer_is_kept_past_the_minute_until_its_first_slot_becomes_too_soon(
        client, app, demo, monkeypatch):
    """The clock alone changes an answer only when its first slot falls inside the minimum
    notice: until then it is served from the cache, minutes later; after, it is computed
    again without that slot."""
    from datetime import datetime

    from booking.api import views
    from tests.conftest import sql_statements

    query, notice, now = _ahead(app)
    answer = client.get("/api/v1/availability", query_string=query).json
    first = _first_start(answer)
    too_soon = datetime.fromisoformat(first.replace("Z", "+00:00")) - notice
    assert too_soon - now > timedelta(minutes=2)
    monkeypatch.setattr(views, "utcnow", lambda: too_soon - timedelta(minutes=1))
    with sql_statements(app) as seen:
        assert client.get("/api/v1/availability", query_string=query).json == answer
        packed = client.get("/api/v1/availability", query_string=query,
                            headers={"Accept-Encoding": "gzip"})
        assert json.loads(gzip.decompress(packed.data)) == answer
    assert seen == []
    monkeypatch.setattr(views, "utcnow", lambda: too_soon + timedelta(minutes=1))
    plain = client.get("/api/v1/availability", query_string=query).json
    assert plain["slots"] and first not in {s["start"] for s in plain["slots"]}
    packed = client.get("/api/v1/availability", query_string=query,
                        headers={"Accept-Encoding": "gzip"})
    assert json.loads(gzip.decompress(packed.data)) == plain  # not the earlier gzip copy


@needs_redis
def test_an_answer_the_horizon_cut_short_is_kept_only_for_its_minute(
        client, app, demo, monkeypatch):
    """Past the horizon nothing is offered yet, but a new slot can open there any minute."""
    from booking.api import views
    from booking.catalogue.models import ConsultationType
    from tests.conftest import sql_statements

    ctype_id, _, _ = _query(app)
    with app.app_context():
        horizon = db.session.get(ConsultationType, ctype_id).horizon_days
    now = views.utcnow()
    query = {"consultation_type": ctype_id, "tz": "UTC",
             "from": (now + timedelta(days=horizon - 3)).date().isoformat(),
             "to": (now + timedelta(days=horizon + 3)).date().isoformat()}
    answer = client.get("/api/v1/availability", query_string=query)
    assert answer.status_code == 200
    with sql_statements(app) as seen:
        client.get("/api/v1/availability", query_string=query)
    assert seen == []  # within the minute: kept
    monkeypatch.setattr(views, "utcnow", lambda: now + timedelta(minutes=1))
    with sql_statements(app) as seen:
        assert client.get("/api/v1/availability", query_string=query).status_code == 200
    assert seen  # the next minute: computed again


@needs_redis
def test_a_copy_in_an_earlier_release_form_is_computed_again_not_a_500(client, app, demo):
    """Before answers had an end, Redis held "version|json"; a deploy meets such copies."""
    import redis as redis_lib

    from booking.scheduling import cache

    query, _, _ = _ahead(app)
    answer = client.get("/api/v1/availability", query_string=query).json
    stored = redis_lib.Redis.from_url(app.config["REDIS_URL"])
    keys = [k for k in stored.keys("spinebridge:availability:*") if k != cache.VERSION_KEY.encode()]
    assert keys
    for key in keys:
        version, _, rest = stored.get(key).partition(b"|")
        stored.set(key, version + b"|" + rest.partition(b"|")[2])
    cache._local.clear()
    again = client.get("/api/v1/availability", query_string=query)
    assert again.status_code == 200 and again.json == answer
