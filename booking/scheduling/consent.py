"""Versioned consent texts. A new wording gets a new version; what a patient agreed to is
recorded with the version and the time, never rewritten."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class ConsentText:
    kind: str
    version: str
    title: object
    body: object


CONSENTS = {
    "informed": ConsentText(
        "informed", "2026-11.1", _l("Informed consent to a consultation"),
        _l("I understand that this booking is for a consultation only. The doctor will decide "
           "with me whether any treatment is suitable. Umbilical-cord stem cell treatments for "
           "back pain are investigational or offered only under approved research protocols; "
           "they may not help me, their long-term safety is not fully known, and results are "
           "not guaranteed. I have read the evidence and regulatory status of the treatments "
           "and the clinic's cancellation policy."),
    ),
    "pdpa": ConsentText(
        "pdpa", "2026-11.1", _l("Health data consent (Thailand PDPA)"),
        _l("I agree that SpineBridge and the clinic I book with may collect and use my health "
           "information (my answers, documents and booking details) to arrange and provide my "
           "care. Only I and the clinic's staff can see it. I can withdraw this consent or ask "
           "for my data to be deleted at any time by contacting the clinic."),
    ),
}
