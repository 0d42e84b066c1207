"""The outbox engine knows no feature: a feature registers what its messages are about and
each kind (subject line, template, context, "still wanted?", attachments), and the engine
queues, sends, cancels and retries them. Here a message about a clinic, a subject no feature
sends messages about today, goes the whole way over SMTP."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from booking.catalogue.models import Clinic
from booking.extensions import db
from booking.notifications import registry
from booking.notifications import services as outbox
from booking.notifications.models import OutboxMessage
from tests.scheduling.helpers import user

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def clinic_note():
    """A test feature: notes about a clinic, with a text attachment; a note whose payload
    says `void` is no longer wanted when its turn comes."""
    registry.register_subject(registry.SubjectType(
        name="test_clinic", model=Clinic,
        load=lambda ids: {c.id: c for c in db.session.scalars(
            select(Clinic).where(Clinic.id.in_(list(ids))))}))
    registry.register_kind(registry.MessageKind(
        name="test_clinic_note", subject="A note about %(clinic_name)s",
        template="already_registered", about="test_clinic",
        context=lambda message, clinic, preview: {
            "clinic_name": clinic.name, "login": "https://example.test/login",
            "reset": "https://example.test/reset"},
        still_wanted=lambda message, clinic: not message.payload.get("void"),
        attachments=lambda message, clinic: [(f"{clinic.slug}.txt", clinic.name, "text/plain")],
    ))
    yield
    registry._KINDS.pop("test_clinic_note", None)
    registry._SUBJECTS.pop("test_clinic", None)


def test_a_registered_kind_about_any_subject_is_queued_and_sent_with_its_attachment(
        ctx, demo, mail_sink, clinic_note):
    clinic = db.session.scalar(select(Clinic).order_by(Clinic.id))
    patient = user("patient@example.com")
    wanted = outbox.queue("test_clinic_note", patient, about=clinic)
    void = outbox.queue("test_clinic_note", patient, about=clinic, payload={"void": True})
    db.session.commit()
    assert (wanted.subject_type, wanted.subject_id) == ("test_clinic", clinic.id)
    assert outbox.dispatch_due() == {"sent": 1, "cancelled": 1}
    [email] = mail_sink.wait_for("patient@example.com")
    assert email["Subject"] == f"A note about {clinic.name}"
    attachments = {part.get_filename(): part.get_content() for part in email.iter_attachments()}
    assert attachments == {f"{clinic.slug}.txt": clinic.name}
    assert [m.id for m in outbox.messages_about(clinic)] == [wanted.id, void.id]
    assert db.session.get(OutboxMessage, void.id).status == "cancelled"


def test_a_message_must_be_about_what_its_kind_says(ctx, demo, clinic_note):
    patient = user("patient@example.com")
    with pytest.raises(ValueError, match="is about 'test_clinic'"):
        outbox.queue("test_clinic_note", patient)  # no subject
    with pytest.raises(ValueError, match="unknown message kind"):
        outbox.queue("no_such_kind", patient)
    with pytest.raises(ValueError, match="no subject type"):
        outbox.queue("verify_email", patient, about=patient)  # users are no subject type


def _string_literals(path: Path) -> set[str]:
    return {node.value for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)}


def test_the_engine_names_no_features_kind_and_imports_no_feature(app):
    """notifications/ has no branch on a message kind: no registered kind's name appears in
    its code, and it imports nothing from scheduling (or any other feature) nor accounts'
    messages."""
    names = set(registry.kinds())
    assert {"reminder", "verify_email", "daily_digest"} <= names
    for path in (ROOT / "booking" / "notifications").glob("*.py"):
        assert not names & _string_literals(path), path.name
        imports = {node.module for node in ast.walk(ast.parse(path.read_text()))
                   if isinstance(node, ast.ImportFrom) and node.module}
        features = {m for m in imports if m.split(".")[1:2] and m.split(".")[1] in (
            "scheduling", "records", "screening", "catalogue", "coordinator", "admin")}
        assert not features and "booking.accounts.messages" not in imports, (path.name, imports)


def test_importing_the_engine_loads_no_feature_and_registers_nothing():
    """No import circle and no registration as a side effect of an import: only the app
    factory registers kinds."""
    code = ("import sys\n"
            "from booking.notifications import registry, services\n"
            "loaded = sorted(m for m in sys.modules if m.startswith(('booking.scheduling',"
            " 'booking.accounts.messages')))\n"
            "print(loaded, registry.kinds())\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip() == "[] {}", result.stdout + result.stderr


def test_only_a_failed_message_can_be_sent_again(as_role, app, demo, mail_sink):
    from tests.conftest import post_form
    from tests.scheduling.helpers import hold

    with app.app_context():
        booking = hold()
        assert outbox.dispatch_due() == {"sent": 2}  # the patient's and the clinic's
        message = db.session.scalar(select(OutboxMessage).where(
            OutboxMessage.about("booking", booking.id), OutboxMessage.kind == "hold_placed",
            OutboxMessage.recipient_id == booking.patient_id))
        message_id, booking_id = message.id, booking.id
    mail_sink.clear()
    coordinator = as_role("coordinator")
    response = post_form(coordinator, f"/coordinator/messages/{message_id}/resend", {},
                         token_from=f"/bookings/{booking_id}")
    page = coordinator.get(response.headers["Location"]).get_data(as_text=True)
    assert "has not failed (it is sent)" in page
    assert "will be sent again shortly" not in page
    with app.app_context():
        assert db.session.get(OutboxMessage, message_id).status == "sent"
        assert outbox.dispatch_due() == {}
    assert mail_sink.to("patient@example.com") == []
