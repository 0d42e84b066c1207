"""Visa letter messages, registered with the outbox (about the trip)."""

from __future__ import annotations


def register() -> None:
    """Register the letter's message kinds and connect them to its state changes."""
