"""A local stand-in for the Stripe API (Checkout Sessions, PaymentIntents, charges, refunds,
signed webhooks) for tests and `make run`. See server.py."""

from .server import StandIn, create_app, serve

__all__ = ["StandIn", "create_app", "serve"]
