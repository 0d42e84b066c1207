"""Deposits: Stripe Checkout, verified webhooks, the refund policy, the payments ledger."""
