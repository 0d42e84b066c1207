"""Benchmark: slot search and the availability API, against the size of the booking history.

What it does, in one run:

1. Rebuilds the schema of the benchmark database with the migrations, loads the demo data
   (`seed_demo`), and adds a bench clinic with 20 doctors working Mon-Fri 09:00-12:00 and
   13:00-17:00 (clinic time) and a video consultation type (30 min, 10 min buffer after,
   120-day horizon, 24 h notice).
2. Inserts 1,000 past bookings (state "completed", spread over the 20 doctors) and measures
   - the median time of `find_slots` over the next 60 days, in process (15 runs after 2 warm-ups);
   - the number of SQL statements one `GET /api/v1/availability` runs (test client).
3. Adds 49,000 more past bookings (50,000 in all) and measures both again. Past bookings can never
   block a future slot, so a slot search should not get slower and should not run more queries
   as the history grows.
4. Serves the app with gunicorn (`-w 2`, sync workers) on 127.0.0.1 and loads, with
   `wrk -t2 -c32 -d10s --latency`, first a bare route that returns a constant
   (`bench/wsgi_bench.py`), then the availability API for 14 days in America/New_York. The bare
   route is the baseline: same app, same workers, same run.

Targets (printed as PASS/FAIL beside each figure; a FAIL still exits 0):
  slot search at 50k bookings <= 1.3x the time at 1k; the same query count at both sizes;
  availability >= 50 % of the bare route's requests/s; availability p99 < 50 ms.

Run it from the project root (PostgreSQL on 127.0.0.1, database `bench`; `wrk` on the PATH):

    createdb -h 127.0.0.1 -U root bench      # once; the script also creates it if missing
    .venv/bin/python bench/availability.py

`BENCH_DATABASE_URL` picks another database (its name must contain "bench": the script drops and
rebuilds its schema). Takes about a minute. The exit code is non-zero only if the run failed
(wrk missing, a request failed, the server did not start).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time as clock
import urllib.request
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402
from sqlalchemy import event, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench._common import (  # noqa: E402
    BARE_BODY,
    STARTED,
    BenchError,
    bench_config,
    database_url,
    ensure_database,
    log,
    reset_schema,
    verdict,
)
from booking import create_app  # noqa: E402
from booking.accounts.models import User  # noqa: E402
from booking.catalogue.models import Clinic, ConsultationType, Doctor  # noqa: E402
from booking.catalogue.seed import seed_demo  # noqa: E402
from booking.core.zones import CLINIC_ZONE  # noqa: E402
from booking.extensions import db  # noqa: E402
from booking.scheduling.availability import find_slots  # noqa: E402
from booking.scheduling.models import COMPLETED, Booking, WorkingInterval  # noqa: E402

DOCTORS = 20
SMALL, LARGE = 1_000, 50_000
SEARCH_DAYS = 60
RUNS, WARMUPS = 15, 2
#: Days of slots per API request (all 20 doctors): a week, as the booking page shows;
#: BENCH_API_DAYS changes it.
API_DAYS = int(os.environ.get("BENCH_API_DAYS", "7"))
API_ZONE = "America/New_York"
WRK_ARGS = ["-t2", "-c32", "-d10s", "--latency"]
WRK_WARMUP_ARGS = ["-t2", "-c32", "-d2s"]
WORKERS = 2

TARGET_RATIO = 1.3
TARGET_HTTP_SHARE = 0.50
TARGET_P99_MS = 50.0

#: Weekly plan of every bench doctor, clinic time: Mon-Fri, with a lunch break.
PLAN = [(day, time(9), time(12)) for day in range(5)] + \
    [(day, time(13), time(17)) for day in range(5)]
#: Where past bookings sit in a working day: 30 min + 10 min buffer, back to back.
PAST_STARTS = [time(9), time(9, 40), time(10, 20), time(11), time(13), time(13, 40),
               time(14, 20), time(15), time(15, 40), time(16, 20)]
DURATION, BUFFER_AFTER = timedelta(minutes=30), timedelta(minutes=10)


# --- database ---------------------------------------------------------------------------------


def seed_clinic(app: Flask) -> dict:
    """Demo data, then the bench clinic, its doctors and plans, and the consultation type."""
    with app.app_context():
        seed_demo()
        clinic = Clinic(slug="bench-clinic", name="Bench Clinic", address="1 Bench Road, Bangkok",
                        languages=["en", "th"])
        db.session.add(clinic)
        db.session.flush()
        doctors = [Doctor(clinic_id=clinic.id, name=f"Dr. Bench {n:02d}", specialty="Spine",
                          languages=["en"]) for n in range(1, DOCTORS + 1)]
        db.session.add_all(doctors)
        db.session.flush()
        db.session.add_all(WorkingInterval(doctor_id=d.id, weekday=weekday, start_time=start,
                                           end_time=end)
                           for d in doctors for weekday, start, end in PLAN)
        ctype = ConsultationType(clinic_id=clinic.id, name="Bench video consultation",
                                 mode="video", duration_minutes=30, deposit_minor=1_500_00,
                                 currency="THB", buffer_before_minutes=0,
                                 buffer_after_minutes=10, horizon_days=120,
                                 min_notice_minutes=1440)
        db.session.add(ctype)
        patient_id = db.session.scalar(select(User.id).where(User.email == "patient@example.com"))
        db.session.commit()
        seeded = {"clinic_id": clinic.id, "doctor_ids": [d.id for d in doctors],
                  "ctype_id": ctype.id, "patient_id": patient_id}
        db.session.remove()
    return seeded


def past_weekdays(today: date, count: int) -> list[date]:
    """The `count` weekdays before `today`, most recent first."""
    days: list[date] = []
    day = today
    while len(days) < count:
        day -= timedelta(days=1)
        if day.weekday() < 5:
            days.append(day)
    return days


def booking_rows(first: int, count: int, seeded: dict, now: datetime) -> Iterator[dict]:
    """Completed bookings number first..first+count-1: round-robin over the doctors, each doctor's
    day filled back to back, going further into the past as the number grows."""
    doctors = seeded["doctor_ids"]
    per_day = len(doctors) * len(PAST_STARTS)
    days = past_weekdays(now.astimezone(CLINIC_ZONE).date(), (first + count) // per_day + 1)
    for n in range(first, first + count):
        k = n // len(doctors)
        day, start_clock = days[k // len(PAST_STARTS)], PAST_STARTS[k % len(PAST_STARTS)]
        starts = datetime.combine(day, start_clock, tzinfo=CLINIC_ZONE).astimezone(UTC)
        yield {
            "reference": f"BN{n:08d}", "patient_id": seeded["patient_id"],
            "clinic_id": seeded["clinic_id"], "doctor_id": doctors[n % len(doctors)],
            "consultation_type_id": seeded["ctype_id"], "state": COMPLETED,
            "starts_at": starts, "ends_at": starts + DURATION,
            "blocked_from": starts, "blocked_until": starts + DURATION + BUFFER_AFTER,
            "hold_expires_at": None, "patient_timezone": API_ZONE,
            "deposit_minor": 1_500_00, "currency": "THB", "created_by_id": None,
            "cancel_reason": "", "created_at": starts - timedelta(days=14), "updated_at": starts,
        }


def add_past_bookings(app: Flask, first: int, count: int, seeded: dict, now: datetime) -> None:
    """Bulk-insert with Core (insertmanyvalues), then refresh the planner's statistics, as
    autovacuum would on a live database."""
    rows = list(booking_rows(first, count, seeded, now))
    with app.app_context():
        for offset in range(0, len(rows), 10_000):
            db.session.execute(Booking.__table__.insert(), rows[offset:offset + 10_000])
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE booking"))
        total = db.session.scalar(select(db.func.count()).select_from(Booking))
        db.session.remove()
    if total != first + count:
        raise BenchError(f"expected {first + count} bookings, found {total}")


# --- in-process measurements --------------------------------------------------------------------


def time_find_slots(app: Flask, ctype_id: int, now: datetime) -> tuple[list[float], int]:
    """Milliseconds of each measured `find_slots` call over SEARCH_DAYS, and the slots found.
    Each call starts from a fresh session, as a request would."""
    timings: list[float] = []
    found = 0
    with app.app_context():
        for run in range(WARMUPS + RUNS):
            db.session.remove()
            ctype = db.session.get(ConsultationType, ctype_id)
            started = clock.perf_counter()
            slots = find_slots(ctype, start=now, end=now + timedelta(days=SEARCH_DAYS), now=now)
            elapsed = (clock.perf_counter() - started) * 1000
            if run >= WARMUPS:
                timings.append(elapsed)
            found = len(slots)
        db.session.remove()
    if not found:
        raise BenchError("find_slots found no free slot: the bench clinic's plans are not used")
    return timings, found


def count_queries(app: Flask, path: str) -> tuple[list[str], int]:
    """The SQL statements one availability request runs when it computes the answer (the Redis
    cache switched off, after a warm-up request); a cache hit runs none."""
    with app.app_context():
        engine = db.engine
    app.config["AVAILABILITY_CACHE"] = False
    client = app.test_client()
    client.get(path)
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        statements.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", record)
    try:
        response = client.get(path)
    finally:
        event.remove(engine, "before_cursor_execute", record)
        app.config["AVAILABILITY_CACHE"] = True
    if response.status_code != 200:
        raise BenchError(f"GET {path} answered {response.status_code}: "
                         f"{response.get_data(as_text=True)[:300]}")
    slots = len(response.get_json()["slots"])
    if not slots:
        raise BenchError(f"GET {path} returned no slots")
    return statements, slots


def measure_in_process(app: Flask, label: str, ctype_id: int, now: datetime,
                       path: str) -> dict:
    timings, found = time_find_slots(app, ctype_id, now)
    statements, api_slots = count_queries(app, path)
    median = statistics.median(timings)
    log(f"{label}: find_slots {SEARCH_DAYS} days -> {found} slots, median {median:.1f} ms "
        f"(min {min(timings):.1f}, max {max(timings):.1f}); API request -> {api_slots} slots, "
        f"{len(statements)} SQL statements")
    return {"median_ms": median, "slots": found, "statements": statements}


# --- HTTP ---------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (127.0.0.1)
        return response.status, response.read()


def start_gunicorn(port: int, logfile) -> subprocess.Popen:  # noqa: ANN001
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BENCH_DATABASE_URL": database_url()}
    for name in ("DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)
    command = [str(Path(sys.executable).with_name("gunicorn")), "--chdir", str(ROOT),
               "--workers", str(WORKERS), "--worker-class", "sync",
               "--bind", f"127.0.0.1:{port}", "bench.wsgi_bench:app"]
    if not Path(command[0]).exists():
        raise BenchError(f"gunicorn not found next to {sys.executable}")
    return subprocess.Popen(command, env=env, stdout=logfile, stderr=subprocess.STDOUT,
                            cwd=ROOT)


def wait_until_up(server: subprocess.Popen, base: str, timeout: float = 30.0) -> None:
    deadline = clock.monotonic() + timeout
    while clock.monotonic() < deadline:
        if server.poll() is not None:
            raise BenchError(f"gunicorn exited with code {server.returncode}")
        try:
            status, body = get(f"{base}/bench/bare", timeout=1.0)
            if status == 200 and body.decode() == BARE_BODY:
                return
        except OSError:
            pass
        clock.sleep(0.2)
    raise BenchError(f"gunicorn did not answer {base}/bench/bare within {timeout:.0f}s")


def stop(server: subprocess.Popen) -> None:
    if server.poll() is not None:
        return
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=5)


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
_PERCENTILE = re.compile(r"^\s*(50|75|90|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m)\s*$", re.M)


def parse_wrk(output: str) -> dict:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    percentiles = {int(p): float(v) * _UNITS_MS[u] for p, v, u in _PERCENTILE.findall(output)}
    if not rps or not total or 50 not in percentiles or 99 not in percentiles:
        raise BenchError(f"could not parse wrk output:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       output)
    return {
        "rps": float(rps.group(1)), "requests": int(total.group(1)),
        "p50": percentiles[50], "p99": percentiles[99],
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": dict(zip(("connect", "read", "write", "timeout"),
                                  map(int, errors.groups()), strict=True)) if errors else {},
    }


def sequential_ms(url: str, count: int = 30) -> float:
    """Median latency of one request at a time: the service time, without queueing."""
    timings = []
    for _ in range(count):
        started = clock.perf_counter()
        status, _body = get(url, timeout=30)
        timings.append((clock.perf_counter() - started) * 1000)
        if status != 200:
            raise BenchError(f"GET {url} answered {status}")
    return statistics.median(timings)


def run_wrk(url: str, label: str) -> dict:
    subprocess.run(["wrk", *WRK_WARMUP_ARGS, url], check=True, capture_output=True, timeout=60)
    done = subprocess.run(["wrk", *WRK_ARGS, url], check=True, capture_output=True, text=True,
                          timeout=120)
    result = parse_wrk(done.stdout)
    if result["non_2xx"]:
        raise BenchError(f"{label}: {result['non_2xx']} of {result['requests']} responses were "
                         f"not 2xx/3xx")
    errors = {k: v for k, v in result["socket_errors"].items() if v}
    log(f"{label}: {result['rps']:.0f} req/s, p50 {result['p50']:.1f} ms, p99 "
        f"{result['p99']:.1f} ms, {result['requests']} requests"
        + (f", socket errors {errors}" if errors else ""))
    return result


def measure_http(api_path: str) -> tuple[dict, dict]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.NamedTemporaryFile("w+", prefix="bench-gunicorn-", suffix=".log") as logfile:
        server = start_gunicorn(port, logfile)
        try:
            wait_until_up(server, base)
            status, body = get(base + api_path, timeout=30)
            if status != 200 or b'"slots":[{' not in body.replace(b" ", b""):
                raise BenchError(f"GET {api_path} over HTTP answered {status}: {body[:300]!r}")
            log(f"gunicorn up on {base} ({WORKERS} sync workers); wrk {' '.join(WRK_ARGS)}")
            bare = run_wrk(f"{base}/bench/bare", "HTTP bare")
            api = run_wrk(base + api_path, "HTTP availability")
            bare["single_ms"] = sequential_ms(f"{base}/bench/bare")
            api["single_ms"] = sequential_ms(base + api_path)
        except BaseException:
            logfile.seek(0)
            tail = logfile.read()[-3000:]
            print(f"--- gunicorn log (tail) ---\n{tail}", file=sys.stderr)
            raise
        finally:
            stop(server)
    return bare, api


# --- report -------------------------------------------------------------------------------------


def report(small: dict, large: dict, bare: dict, api: dict) -> None:
    ratio = large["median_ms"] / small["median_ms"]
    q_small, q_large = len(small["statements"]), len(large["statements"])
    share = api["rps"] / bare["rps"]
    print()
    print(f"slot search {SEARCH_DAYS} days, median: 1k={small['median_ms']:.1f}ms "
          f"50k={large['median_ms']:.1f}ms ratio={ratio:.2f}x (target <={TARGET_RATIO}x) "
          f"{verdict(ratio <= TARGET_RATIO)}")
    print("SQL queries per computed availability request (0 on a cache hit): "
          f"1k={q_small} 50k={q_large} (target equal) "
          f"{verdict(q_small == q_large)}")
    print(f"HTTP bare: {bare['rps']:.0f} req/s p50 {bare['p50']:.1f}ms p99 {bare['p99']:.1f}ms; "
          f"availability: {api['rps']:.0f} req/s p50 {api['p50']:.1f}ms p99 {api['p99']:.1f}ms; "
          f"ratio {share * 100:.0f}% (target >={TARGET_HTTP_SHARE * 100:.0f}%) "
          f"{verdict(share >= TARGET_HTTP_SHARE)}; p99 {api['p99']:.1f} ms "
          f"(target <{TARGET_P99_MS:.0f}ms) {verdict(api['p99'] < TARGET_P99_MS)}")
    print(f"HTTP one request at a time, median: bare {bare['single_ms']:.1f}ms, availability "
          f"{api['single_ms']:.1f}ms (service time without queueing; for information)")
    if q_small != q_large:
        print("statements at 50k bookings:")
        for statement in large["statements"]:
            print(f"  {statement[:160]}")
    print(f"({DOCTORS} doctors, {SMALL:,} then {LARGE:,} past bookings; "
          f"wrk {' '.join(WRK_ARGS)} against gunicorn -w {WORKERS}; "
          f"total {clock.monotonic() - STARTED:.0f}s)")


def main() -> int:
    if shutil.which("wrk") is None:
        print("bench/availability.py needs wrk (HTTP load generator) on the PATH; on Debian or "
              "Ubuntu: apt-get install -y wrk", file=sys.stderr)
        return 2
    url = database_url()
    ensure_database(url)
    app = create_app(bench_config())
    for name in ("booking.access", "alembic"):  # keep the in-process run's output readable
        logging.getLogger(name).setLevel(logging.WARNING)
    log(f"rebuilding schema on {make_url(url).render_as_string()}")
    reset_schema(app)
    seeded = seed_clinic(app)
    now = datetime.now(UTC)
    day = (now.astimezone(ZoneInfo(API_ZONE)) + timedelta(days=2)).date()
    api_path = "/api/v1/availability?" + urlencode({
        "consultation_type": seeded["ctype_id"], "from": day.isoformat(),
        "to": (day + timedelta(days=API_DAYS - 1)).isoformat(), "tz": API_ZONE})

    add_past_bookings(app, 0, SMALL, seeded, now)
    small = measure_in_process(app, f"{SMALL:,} past bookings", seeded["ctype_id"], now, api_path)
    add_past_bookings(app, SMALL, LARGE - SMALL, seeded, now)
    large = measure_in_process(app, f"{LARGE:,} past bookings", seeded["ctype_id"], now, api_path)
    if small["slots"] != large["slots"]:
        raise BenchError(f"past bookings changed the free slots: {small['slots']} at {SMALL}, "
                         f"{large['slots']} at {LARGE}")
    with app.app_context():
        db.engine.dispose()  # the HTTP phase has the database to itself

    bare, api = measure_http(api_path)
    report(small, large, bare, api)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (BenchError, subprocess.SubprocessError) as error:
        print(f"benchmark failed: {error}", file=sys.stderr)
        sys.exit(1)
