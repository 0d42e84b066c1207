"""What payment states are called on pages and in emails."""

from flask_babel import lazy_gettext as _l

from booking.payments.models import EntryStatus, PaymentStatus

PAYMENT_LABELS = {
    PaymentStatus.UNPAID: _l("Not paid"),
    PaymentStatus.PAID: _l("Paid"),
    PaymentStatus.PARTIALLY_REFUNDED: _l("Partly refunded"),
    PaymentStatus.REFUNDED: _l("Refunded"),
}
REFUND_LABELS = {
    EntryStatus.PENDING: _l("on its way"),
    EntryStatus.SUCCEEDED: _l("refunded"),
    EntryStatus.FAILED: _l("failed"),
}
