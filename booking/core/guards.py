"""Request guards applied to every request before any view runs (filled in by the hardening
work: NUL bytes, JSON limits, Cache-Control)."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Install the guards on `app`."""
