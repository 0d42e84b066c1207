"""The Celery worker runs our tasks inside the Flask app, on Redis or the embedded broker."""

from __future__ import annotations

import time

from celery.contrib.testing.worker import start_worker
from sqlalchemy import func, select

from booking import create_app
from booking.core.models import WorkerHeartbeat
from booking.core.tasks import purge_embedded_broker
from booking.extensions import db
from tests.conftest import make_config


def _wait_for_heartbeat(app, timeout: float = 20.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.app_context():
            count = db.session.scalar(select(func.count()).select_from(WorkerHeartbeat))
            db.session.remove()
        if count:
            return count
        time.sleep(0.1)
    return 0


def test_worker_runs_the_heartbeat_task_and_readyz_reports_it(app, client):
    celery = app.extensions["celery"]
    with start_worker(celery, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        celery.send_task("core.record_heartbeat")
        assert _wait_for_heartbeat(app) == 1
    response = client.get("/readyz")
    assert response.is_json, response.get_data(as_text=True)[:3000]
    worker = response.json["worker"]
    assert worker["seen"] is True and worker["age_seconds"] < 60


def test_embedded_broker_runs_tasks_and_consumed_rows_are_purged(app, tmp_path):
    embedded = create_app(make_config(
        str(tmp_path), SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        CELERY={**app.config["CELERY"], "broker_url": f"sqla+sqlite:///{tmp_path}/b.sqlite"}))
    celery = embedded.extensions["celery"]
    with start_worker(celery, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        celery.send_task("core.record_heartbeat")
        assert _wait_for_heartbeat(embedded) == 1
    with embedded.app_context():
        assert purge_embedded_broker.run() >= 1
        assert purge_embedded_broker.run() == 0


def test_worker_sends_due_outbox_messages_over_smtp(app, demo, mail_sink):
    from tests.scheduling.helpers import hold

    with app.app_context():
        hold()  # queues "hold placed" in the same transaction as the hold
    celery = app.extensions["celery"]
    with start_worker(celery, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        celery.send_task("notifications.dispatch_due")
        [message] = mail_sink.wait_for("patient@example.com", timeout=20)
    assert "Your time is held" in message["Subject"]
