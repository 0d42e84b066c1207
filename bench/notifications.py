"""Benchmark: the notification outbox: how fast one worker sends, what the claim query costs.

What it does, in one run:

1. Rebuilds the schema of the benchmark database with the migrations, loads the demo data
   (`seed_demo`), and bulk-inserts (SQLAlchemy Core) 1,000 confirmed future bookings for the demo
   patient with the first doctor and the video consultation type of the demo clinic
   "sukhumvit-spine", then 10 due reminders per booking (10,000 outbox rows: kind "reminder",
   status "pending", due in the past, language "en").
2. Throughput: starts an SMTP sink in its own process on 127.0.0.1 (`bench/_smtp_sink.py`: a
   mail server is not part of the worker, and parsing mail in the worker's process would bill
   its CPU to the worker) and runs ONE worker as the Procfile does, `celery -A worker.app
   worker` as a subprocess with the production settings, pointed at the bench database, Redis
   (`BENCH_REDIS_URL`, default redis://127.0.0.1:6379/14) and the sink. The script sends ONE
   "notifications.dispatch_due" task, as the beat would: the sweep claims up to
   `OUTBOX_SWEEP_LIMIT` rows, queues them as "notifications.send_batch" tasks of
   `OUTBOX_BATCH` and queues the next sweep behind them, until nothing is due. It measures
   the wall time from that task until the sink has received all 10,000 emails and reports
   messages per minute (capped at 4 minutes: then the rate reached is reported). Two runs: the
   default prefork pool (one process per core: the headline figure) and, for comparison, the
   solo pool (one process), with the outbox reset to pending in between.
3. The claim query's plan: captures the exact SELECT ... FOR UPDATE SKIP LOCKED that
   `services.claim_due` sends (and its parameters), and runs EXPLAIN (ANALYZE, BUFFERS) of it
   (after VACUUM ANALYZE) with 1,000 due pending rows and 100,000 sent rows in the table. It
   should read the partial index ix_outbox_due_pending, not the sent history.
4. Claim query time against sent history: the median time of that SELECT (each run in a
   transaction that is rolled back, so the rows stay pending) with 1,000 due pending rows and
   (a) no other rows, (b) 100,000 sent rows as well.

Targets (printed as PASS/FAIL beside each figure; a FAIL still exits 0):
  throughput >= 10,000 messages/min with one worker; the claim query uses an index on
  ix_outbox_due_pending (with 100k sent rows); claim time with 100k sent rows <= 1.3x without.

Run it from the project root (PostgreSQL and Redis on 127.0.0.1):

    createdb -h 127.0.0.1 -U root bench      # once; the script also creates it if missing
    .venv/bin/python bench/notifications.py

`BENCH_DATABASE_URL` picks another database (its name must contain "bench": the script drops and
rebuilds its schema); `BENCH_REDIS_URL` another Redis database (the script purges the Celery
queue in it). Only 127.0.0.1 is accepted for both. Takes one to five minutes. The exit code is
non-zero only if the run failed (Redis or PostgreSQL unreachable, no email arrived at all).
"""

from __future__ import annotations

import logging
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time as clock
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
from flask import Flask  # noqa: E402
from sqlalchemy import event, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench._common import (  # noqa: E402
    STARTED,
    BenchError,
    bench_config,
    database_url,
    ensure_database,
    log,
    refuse_unless_bench,
    reset_schema,
    verdict,
)
from bench._smtp_sink import ProcessSink  # noqa: E402
from booking import create_app  # noqa: E402
from booking.accounts.models import User  # noqa: E402
from booking.catalogue.models import Clinic, ConsultationType, Doctor  # noqa: E402
from booking.catalogue.seed import seed_demo  # noqa: E402
from booking.core.types import utcnow  # noqa: E402
from booking.extensions import db  # noqa: E402
from booking.notifications import services  # noqa: E402
from booking.notifications.models import PENDING, SENT, OutboxMessage  # noqa: E402
from booking.scheduling.models import CONFIRMED, Booking  # noqa: E402
from tests.mailsink import free_port  # noqa: E402

BOOKINGS = 1_000
PER_BOOKING = 10
MESSAGES = BOOKINGS * PER_BOOKING
CAP_SECONDS = 240.0  # the throughput run stops here and reports the rate reached
FIRST_EMAIL_TIMEOUT = 60.0  # no email at all by then: the run failed
CLAIM_PENDING = 1_000
SENT_HISTORY = 100_000
CLAIM_RUNS, CLAIM_WARMUPS = 200, 20
DURATION, BUFFER_AFTER = timedelta(minutes=30), timedelta(minutes=10)
DEMO_CLINIC = "sukhumvit-spine"
LOOPBACK = {"127.0.0.1", "localhost", None}

TARGET_PER_MINUTE = 10_000
BATCH, SWEEP_LIMIT = bench_config().OUTBOX_BATCH, bench_config().OUTBOX_SWEEP_LIMIT
TARGET_RATIO = 1.3
INDEX = "ix_outbox_due_pending"
INDEX_SCANS = ("Index Scan", "Index Only Scan", "Bitmap Index Scan")


# --- setup --------------------------------------------------------------------------------------


def redis_url() -> str:
    return bench_config().REDIS_URL


def check_targets(db_url: str, broker: str) -> None:
    """Only ever talk to 127.0.0.1; refuse a database that does not look like a bench one."""
    parsed = make_url(db_url)
    refuse_unless_bench(parsed)
    if parsed.get_backend_name() != "postgresql":
        raise BenchError("this benchmark needs PostgreSQL (FOR UPDATE SKIP LOCKED, EXPLAIN)")
    if parsed.host not in LOOPBACK:
        raise BenchError(f"refusing database host {parsed.host!r}: only 127.0.0.1")
    host = urlsplit(broker).hostname
    if host not in LOOPBACK:
        raise BenchError(f"refusing Redis host {host!r}: only 127.0.0.1")
    try:
        redis.Redis.from_url(broker, socket_connect_timeout=3).ping()
    except redis.RedisError as error:
        raise BenchError(f"cannot reach Redis at {broker}: {error}") from None


def make_app(mail_port: int, broker: str) -> Flask:
    """The bench settings, with mail going to the sink and Celery on Redis (not eager)."""
    base = bench_config()
    config = type("NotificationsBenchConfig", (base,), {
        "MAIL_BACKEND": "smtp", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": mail_port,
        "MAIL_USE_TLS": False, "MAIL_USE_SSL": False, "MAIL_USERNAME": None,
        "MAIL_PASSWORD": None,
        "CELERY": {**base.CELERY, "broker_url": broker, "task_always_eager": False},
    })
    app = create_app(config)
    for name in ("booking.access", "alembic", "celery", "kombu", "mail.log"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return app


def seed(app: Flask, now: datetime) -> dict:
    """Demo data, then BOOKINGS confirmed bookings back to back for one demo doctor, from three
    days ahead (active bookings may not overlap)."""
    with app.app_context():
        seed_demo()
        db.session.commit()
        clinic_id = db.session.scalar(select(Clinic.id).where(Clinic.slug == DEMO_CLINIC))
        doctor_id = db.session.scalar(select(Doctor.id).where(Doctor.clinic_id == clinic_id)
                                      .order_by(Doctor.id).limit(1))
        ctype_id = db.session.scalar(select(ConsultationType.id).where(
            ConsultationType.clinic_id == clinic_id, ConsultationType.mode == "video"))
        patient_id = db.session.scalar(select(User.id).where(User.email == "patient@example.com"))
        if None in (clinic_id, doctor_id, ctype_id, patient_id):
            raise BenchError("seed_demo did not create the demo clinic, doctor, type or patient")
        first = (now + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
        rows = []
        for n in range(BOOKINGS):
            starts = first + n * (DURATION + BUFFER_AFTER)
            rows.append({
                "reference": f"NB{n:08d}", "patient_id": patient_id, "clinic_id": clinic_id,
                "doctor_id": doctor_id, "consultation_type_id": ctype_id, "state": CONFIRMED,
                "starts_at": starts, "ends_at": starts + DURATION, "blocked_from": starts,
                "blocked_until": starts + DURATION + BUFFER_AFTER, "hold_expires_at": None,
                "patient_timezone": "America/New_York", "deposit_minor": 1_500_00,
                "currency": "THB", "created_by_id": None, "cancel_reason": "",
                "created_at": now, "updated_at": now,
            })
        db.session.execute(Booking.__table__.insert(), rows)
        db.session.commit()
        booking_ids = list(db.session.scalars(select(Booking.id).where(
            Booking.reference.like("NB%")).order_by(Booking.id)))
        db.session.remove()
    if len(booking_ids) != BOOKINGS:
        raise BenchError(f"expected {BOOKINGS} bookings, found {len(booking_ids)}")
    return {"booking_ids": booking_ids, "patient_id": patient_id}


def outbox_row(booking_id: int, patient_id: int, due_at: datetime, status: str,
               now: datetime) -> dict:
    sent = status == SENT
    return {
        "subject_type": "booking", "subject_id": booking_id, "recipient_id": patient_id,
        "kind": "reminder",
        "channel": "email", "language": "en", "due_at": due_at, "status": status,
        "attempts": 1 if sent else 0, "last_error": "", "provider_message_id": None,
        "created_at": due_at - timedelta(days=7), "claimed_at": due_at if sent else None,
        "payload": {}, "sent_at": due_at + timedelta(seconds=5) if sent else None,
    }


def insert_outbox(app: Flask, rows: list[dict]) -> None:
    with app.app_context():
        for offset in range(0, len(rows), 10_000):
            db.session.execute(OutboxMessage.__table__.insert(), rows[offset:offset + 10_000])
        db.session.commit()
        db.session.remove()


def vacuum_analyze(app: Flask) -> None:
    """Refresh the planner's statistics and the visibility map, as autovacuum would."""
    with app.app_context():
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM (ANALYZE) outbox_message"))


def status_counts(app: Flask) -> dict[str, int]:
    with app.app_context():
        counts = dict(db.session.execute(select(OutboxMessage.status, func.count())
                                         .group_by(OutboxMessage.status)).all())
        db.session.remove()
    return counts


# --- 1. throughput ------------------------------------------------------------------------------


def purge_broker(celery) -> int:  # noqa: ANN001
    """Drop queued and unacknowledged tasks a previous run may have left in the bench Redis."""
    purged = celery.control.purge()
    client = redis.Redis.from_url(redis_url())
    client.delete("unacked", "unacked_index", "unacked_mutex")
    return purged


def due_pending(app: Flask) -> int:
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.status == PENDING, OutboxMessage.due_at <= utcnow()))
        db.session.remove()
    return count


def start_worker_process(app: Flask, sink_port: int, pool: str, log_path: Path):  # noqa: ANN201
    """`celery -A worker.app worker` as the Procfile runs it (production settings), pointed at
    the bench database, the bench Redis and the sink; `pool` "solo" or the default prefork."""
    env = {**os.environ, "SPINEBRIDGE_ENV": "production", "PYTHONPATH": str(ROOT),
           "SECRET_KEY": "bench-only-not-secret", "LOG_JSON": "0",
           "ENCRYPTION_KEYS": app.config["ENCRYPTION_KEYS"],
           "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": redis_url(),
           "MAIL_BACKEND": "smtp", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(sink_port),
           "MAIL_USE_TLS": "0", "MAIL_USE_SSL": "0"}
    for name in ("MAIL_USERNAME", "MAIL_PASSWORD"):
        env.pop(name, None)
    command = [sys.executable, "-m", "celery", "-A", "worker.app", "worker", "-l", "WARNING",
               "--without-heartbeat", "--without-gossip", "--without-mingle"]
    if pool == "solo":
        command += ["--pool", "solo"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log_path.open("ab"),
                            stderr=subprocess.STDOUT)


def stop_worker_process(worker) -> None:  # noqa: ANN001
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(30)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait(10)


def reset_outbox(app: Flask) -> None:
    """Put every benchmark reminder back to due and pending for the next run."""
    with app.app_context():
        db.session.execute(OutboxMessage.__table__.update().values(
            status=PENDING, attempts=0, claimed_at=None, sent_at=None,
            provider_message_id=None, last_error=""))
        db.session.commit()
        db.session.remove()
    vacuum_analyze(app)


def measure_throughput(app: Flask, sink: ProcessSink, pool: str, log_path: Path) -> dict:
    """One worker process; ONE sweep task is sent, as the beat would send it: the sweep claims
    up to OUTBOX_SWEEP_LIMIT rows, queues them in batches and queues the next sweep behind them."""
    celery = app.extensions["celery"]
    purged = purge_broker(celery)
    if purged:
        log(f"purged {purged} task(s) left in the broker by an earlier run")
    sink.clear()
    worker = start_worker_process(app, sink.port, pool, log_path)
    try:
        celery.send_task("notifications.dispatch_due")
        started = clock.perf_counter()
        log(f"worker started ({pool} pool, broker {redis_url()}); one sweep sent")
        next_progress, first_email, received = started + 15, None, 0
        while True:
            now = clock.perf_counter()
            received = sink.count()
            if received and first_email is None:
                first_email = now - started
            if received >= MESSAGES or now - started >= CAP_SECONDS:
                break
            if worker.poll() is not None:
                raise BenchError(f"the worker exited with {worker.returncode}; see {log_path}")
            if first_email is None and now - started > FIRST_EMAIL_TIMEOUT:
                raise BenchError(f"no email reached the sink within {FIRST_EMAIL_TIMEOUT:.0f}s "
                                 f"of the sweep; outbox: {status_counts(app)}; see {log_path}")
            if now >= next_progress:
                next_progress += 15
                log(f"  {received:,} emails after {now - started:.0f}s")
            clock.sleep(0.02)
        elapsed = clock.perf_counter() - started
        log(f"stopping the worker ({received:,} emails after {elapsed:.1f}s)")
    finally:
        stop_worker_process(worker)
    left = purge_broker(celery)
    ids = sink.received()
    counts = status_counts(app)
    return {"pool": pool, "received": received, "elapsed": elapsed,
            "first_email": first_email, "unique": len(set(ids)), "counts": counts,
            "left_in_queue": left, "capped": received < MESSAGES}


# --- 2 and 3. the claim query -------------------------------------------------------------------


class _Captured(Exception):  # noqa: N818 (control flow, not an error)
    pass


def capture_claim_sql(app: Flask, now: datetime) -> tuple[str, dict]:
    """The SELECT claim_due sends and its parameters, taken on its way to the database (the
    statement is then aborted, so nothing is claimed)."""
    captured: dict = {}

    def grab(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        flat = " ".join(statement.split())
        if flat.startswith("SELECT") and "FROM outbox_message" in flat and "FOR UPDATE" in flat:
            captured.update(sql=statement, params=parameters)
            raise _Captured

    with app.app_context():
        engine = db.engine
        event.listen(engine, "before_cursor_execute", grab)
        try:
            services.claim_due(now)
        except _Captured:
            pass
        finally:
            event.remove(engine, "before_cursor_execute", grab)
            db.session.rollback()
            db.session.remove()
    if "sql" not in captured:
        raise BenchError("claim_due sent no SELECT ... FOR UPDATE on outbox_message")
    return captured["sql"], captured["params"]


def explain(app: Flask, sql: str, params: dict) -> list[str]:
    with app.app_context(), db.engine.connect() as conn:
        with conn.begin() as trans:
            lines = [row[0] for row in
                     conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)]
            trans.rollback()
    return lines


def uses_index(plan: list[str]) -> bool:
    return any(INDEX in line and any(scan in line for scan in INDEX_SCANS) for line in plan)


def time_claim(app: Flask, sql: str, params: dict) -> dict:
    """Milliseconds of the claim SELECT (sent and rows fetched), each in a transaction that is
    rolled back; median of CLAIM_RUNS after CLAIM_WARMUPS."""
    timings: list[float] = []
    rows = set()
    with app.app_context(), db.engine.connect() as conn:
        for run in range(CLAIM_WARMUPS + CLAIM_RUNS):
            trans = conn.begin()
            started = clock.perf_counter()
            got = conn.exec_driver_sql(sql, params).fetchall()
            elapsed = (clock.perf_counter() - started) * 1000
            trans.rollback()
            if run >= CLAIM_WARMUPS:
                timings.append(elapsed)
                rows.add(len(got))
    if rows != {SWEEP_LIMIT}:
        raise BenchError(f"the claim SELECT returned {sorted(rows)} rows, "
                         f"expected {SWEEP_LIMIT}")
    return {"median_ms": statistics.median(timings), "min_ms": min(timings),
            "p90_ms": statistics.quantiles(timings, n=10)[-1]}


def measure_claim(app: Flask, seeded: dict) -> dict:
    booking_ids, patient_id = seeded["booking_ids"], seeded["patient_id"]
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text("TRUNCATE outbox_message RESTART IDENTITY"))
    now = utcnow()
    insert_outbox(app, [
        outbox_row(booking_ids[n % len(booking_ids)], patient_id,
                   now - timedelta(hours=1) + timedelta(seconds=3 * n), PENDING, now)
        for n in range(CLAIM_PENDING)])
    vacuum_analyze(app)
    sql, params = capture_claim_sql(app, utcnow())
    log("claim SQL (as claim_due sends it): " + " ".join(sql.split()))
    plan_a = explain(app, sql, params)
    empty = time_claim(app, sql, params)
    log(f"{CLAIM_PENDING:,} due pending, no sent rows: median {empty['median_ms']:.3f} ms "
        f"(min {empty['min_ms']:.3f}, p90 {empty['p90_ms']:.3f}); index used: "
        f"{uses_index(plan_a)}")

    start = now - timedelta(days=400)
    step = timedelta(days=400) / SENT_HISTORY
    insert_outbox(app, [
        outbox_row(booking_ids[n % len(booking_ids)], patient_id, start + n * step, SENT, now)
        for n in range(SENT_HISTORY)])
    vacuum_analyze(app)
    plan_b = explain(app, sql, params)
    history = time_claim(app, sql, params)
    log(f"{CLAIM_PENDING:,} due pending + {SENT_HISTORY:,} sent: median "
        f"{history['median_ms']:.3f} ms (min {history['min_ms']:.3f}, p90 "
        f"{history['p90_ms']:.3f}); index used: {uses_index(plan_b)}")
    return {"empty": empty, "history": history, "plan_a": plan_a, "plan_b": plan_b}


# --- report -------------------------------------------------------------------------------------


def report_throughput(thr: dict, headline: bool) -> None:
    per_minute = thr["received"] / thr["elapsed"] * 60
    sent = thr["counts"].get(SENT, 0)
    pool = ("solo pool (one process)" if thr["pool"] == "solo"
            else f"prefork pool, default concurrency ({os.cpu_count()} processes), "
                 "as the Procfile runs it")
    target = (f" ({per_minute / TARGET_PER_MINUTE:.2f}x target; "
              f"target >={TARGET_PER_MINUTE:,}/min) {verdict(per_minute >= TARGET_PER_MINUTE)}"
              if headline else " (for comparison)")
    print(f"throughput, one worker, {pool}: {thr['received']:,} emails in {thr['elapsed']:.1f}s = "
          f"{per_minute:,.0f} messages/min, {thr['elapsed'] / max(thr['received'], 1) * 1000:.2f}"
          f"ms per message{target}")
    if thr["capped"]:
        print(f"  stopped at the {CAP_SECONDS:.0f}s cap before all {MESSAGES:,} were sent: the "
              "rate above is the rate reached on this machine, not a finished run")
    print(f"  first email after {thr['first_email'] or 0:.2f}s; outbox now {thr['counts']}; "
          f"distinct Message-IDs {thr['unique']:,} of {thr['received']:,} "
          f"({'no duplicates' if thr['unique'] == thr['received'] else 'DUPLICATES'}); "
          f"sink {thr['received']:,} vs rows sent {sent:,}")


def report(runs: list[dict], claim: dict) -> None:
    print()
    for thr in runs:
        report_throughput(thr, headline=thr["pool"] != "solo")
    print(f"  (`celery -A worker.app worker` subprocess with production settings; SMTP sink in its "
          f"own process on 127.0.0.1; batches of {BATCH}, sweeps of up to "
          f"{SWEEP_LIMIT}; PostgreSQL, Redis and the sink share this machine's "
          f"{os.cpu_count()} cores)")
    plan = claim["plan_b"]
    print(f"claim query plan with {CLAIM_PENDING:,} due pending + {SENT_HISTORY:,} sent rows: "
          f"index scan on {INDEX}: {'yes' if uses_index(plan) else 'no'} (target: uses it) "
          f"{verdict(uses_index(plan))}")
    for line in plan:
        print(f"    {line}")
    if not uses_index(claim["plan_a"]):
        print(f"  (with no sent rows the planner does not use {INDEX}: "
              + "; ".join(line.strip() for line in claim["plan_a"]
                          if "Scan" in line) + ")")
    a, b = claim["empty"]["median_ms"], claim["history"]["median_ms"]
    ratio = b / a
    print(f"claim query median ({CLAIM_RUNS} runs, {CLAIM_PENDING:,} due pending, "
          f"{SWEEP_LIMIT} rows each): "
          f"no sent rows {a:.3f}ms, {SENT_HISTORY:,} sent rows {b:.3f}ms, ratio {ratio:.2f}x "
          f"(target <={TARGET_RATIO}x) {verdict(ratio <= TARGET_RATIO)}")
    print(f"(PostgreSQL {make_url(database_url()).database}, Redis {redis_url()}; "
          f"total {clock.monotonic() - STARTED:.0f}s)")


def main() -> int:
    url, broker = database_url(), redis_url()
    check_targets(url, broker)
    ensure_database(url)
    workdir = Path(tempfile.mkdtemp(prefix="bench-notifications-"))
    sink = ProcessSink(free_port(), workdir / "received.txt")
    sink.start()
    app = None
    try:
        app = make_app(sink.port, broker)
        log(f"rebuilding schema on {make_url(url).render_as_string()}; SMTP sink on "
            f"127.0.0.1:{sink.port}")
        reset_schema(app)
        now = utcnow()
        seeded = seed(app, now)
        insert_outbox(app, [
            outbox_row(seeded["booking_ids"][n // PER_BOOKING], seeded["patient_id"],
                       now - timedelta(hours=2) + timedelta(milliseconds=500 * n), PENDING, now)
            for n in range(MESSAGES)])
        vacuum_analyze(app)
        log(f"{BOOKINGS:,} bookings, {MESSAGES:,} due reminders pending")
        runs = []
        for pool in ("prefork", "solo"):
            if runs:
                reset_outbox(app)
            runs.append(measure_throughput(app, sink, pool, workdir / f"worker-{pool}.log"))
        claim = measure_claim(app, seeded)
    finally:
        sink.stop()
        if app is not None:
            with app.app_context():
                db.engine.dispose()
    report(runs, claim)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        print(f"benchmark failed: {error}", file=sys.stderr)
        sys.exit(1)
