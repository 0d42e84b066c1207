"""What the outbox engine knows about messages: only what features register with it.

A feature registers its *subject types* (what a message can be about: a booking, later a trip
or a payment) and its *message kinds* (subject line, template, how to build the template's
context, whether it is still wanted at send time, attachments). The engine itself has no
branch on any feature's kind: adding a message is a `register_kind` call in the feature's
`messages.py` and a pair of templates under `templates/emails/`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

#: (file name, content, MIME type), as EmailMessage.attach takes them.
Attachment = tuple[str, str | bytes, str]


def _always(message: Any, subject: Any) -> bool:
    return True


def _nothing(message: Any, subject: Any) -> list[Attachment]:
    return []


@dataclass(frozen=True)
class SubjectType:
    """Something messages can be about, stored on the row as (`name`, id)."""

    name: str
    model: type
    #: ids -> {id: object} with everything the emails show, in a few queries for a batch.
    load: Callable[[Iterable[int]], dict[int, Any]]
    #: A column that changes whenever the object does (read under the row lock at send time,
    #: so a batch read a while ago is refreshed only when it is out of date).
    version: Any = None
    #: Called when a message about it has failed for good (e.g. tell the clinic).
    on_failure: Callable[[Any, Any], None] | None = None


@dataclass(frozen=True)
class MessageKind:
    name: str
    #: The subject line; %(name)s placeholders are filled from the context.
    subject: object
    #: templates/emails/<template>.{txt,html}
    template: str
    #: The subject type's name, or None for messages about no object (account emails).
    about: str | None
    #: (message, subject or None, preview) -> template context.
    context: Callable[[Any, Any, bool], dict]
    #: (message, subject or None) -> False to cancel it unsent (moved, ended, left the clinic).
    still_wanted: Callable[[Any, Any], bool] = _always
    #: (message, subject or None) -> files to attach.
    attachments: Callable[[Any, Any], list[Attachment]] = _nothing
    #: To staff, not to the patient: never listed on the patient's page, and its failure does
    #: not raise yet another alert.
    to_staff: bool = False
    #: Kinds a later change makes void: cancelled together by `cancel_unsent`.
    tags: frozenset[str] = field(default_factory=frozenset)


_SUBJECTS: dict[str, SubjectType] = {}
_KINDS: dict[str, MessageKind] = {}


def register_subject(subject_type: SubjectType) -> SubjectType:
    _SUBJECTS[subject_type.name] = subject_type
    return subject_type


def register_kind(kind: MessageKind) -> MessageKind:
    if kind.about is not None and kind.about not in _SUBJECTS:
        raise ValueError(f"message kind {kind.name!r} is about unregistered {kind.about!r}")
    _KINDS[kind.name] = kind
    return kind


def kind(name: str) -> MessageKind:
    try:
        return _KINDS[name]
    except KeyError:
        raise ValueError(f"unknown message kind {name!r}") from None


def kinds() -> dict[str, MessageKind]:
    """Every registered kind by name (for labels on staff pages)."""
    return dict(_KINDS)


def subject_type(name: str) -> SubjectType:
    return _SUBJECTS[name]


def subject_type_of(obj: object) -> SubjectType:
    for registered in _SUBJECTS.values():
        if isinstance(obj, registered.model):
            return registered
    raise ValueError(f"no subject type is registered for {type(obj).__name__}")
