"""A worker killed with SIGKILL in the middle of a batch: after a restart every message is
delivered, each once (at most the one in flight at the kill can arrive twice, with the same
Message-ID, which mail clients treat as one message)."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from booking.extensions import db
from booking.notifications.models import OutboxMessage
from booking.scheduling import messages as booking_messages
from tests.conftest import ON_POSTGRES
from tests.scheduling.helpers import hold

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    not (ON_POSTGRES and os.environ.get("TEST_REDIS_URL")),
    reason="needs PostgreSQL and Redis (acks_late redelivery and row locks)")


def _worker(app, mail_port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "SPINEBRIDGE_ENV": "development", "PYTHONPATH": str(ROOT),
           "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "REDIS_URL": os.environ["TEST_REDIS_URL"], "MAIL_BACKEND": "smtp",
           "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(mail_port),
           "OUTBOX_LEASE_SECONDS": "3", "SECRET_KEY": "test-worker"}
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "worker.app", "worker", "--pool", "solo",
         "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "INFO"],
        cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def _wait(predicate, timeout: float, step: float = 0.2) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


def test_messages_survive_a_worker_killed_mid_batch(app, demo, mail_sink, tmp_path):
    with app.app_context():
        booking = hold()
        for _ in range(39):  # 40 due messages in all
            booking_messages.queue("hold_placed", booking)
        db.session.commit()
        ids = set(db.session.scalars(select(OutboxMessage.id).where(
            OutboxMessage.kind == "hold_placed")))  # the patient's 40 (the clinic is told too)
        assert len(ids) == 40
    celery = app.extensions["celery"]
    log = tmp_path / "worker.log"
    first = _worker(app, mail_sink.port, log)
    try:
        celery.send_task("notifications.dispatch_due")
        assert _wait(lambda: len(mail_sink.to("patient@example.com")) >= 5, 60), log.read_text()
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    delivered_before_restart = len(mail_sink.to("patient@example.com"))
    assert delivered_before_restart < 40  # killed mid-batch
    time.sleep(4)  # the dead worker's claims lapse (lease 3 s in this test)
    second = _worker(app, mail_sink.port, log)
    try:
        def all_sent() -> bool:
            celery.send_task("notifications.dispatch_due")
            with app.app_context():
                left = db.session.scalar(select(func.count()).select_from(OutboxMessage).where(
                    OutboxMessage.status != "sent"))
                db.session.remove()
            return left == 0
        assert _wait(all_sent, 90, step=1.0), log.read_text()[-3000:]
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            second.wait(15)
        except subprocess.TimeoutExpired:
            second.kill()
    received = [m["Message-ID"] for m in mail_sink.to("patient@example.com")]
    expected = {f"<outbox-{i}@spinebridge>" for i in ids}
    assert set(received) == expected  # every message arrived
    duplicates = [mid for mid, n in collections.Counter(received).items() if n > 1]
    assert len(duplicates) <= 1, duplicates  # at most the one in flight at the kill
