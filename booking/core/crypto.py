"""Sealing personal identifiers at rest (passport numbers): Fernet tokens under a MultiFernet.

ENCRYPTION_KEYS holds one or more Fernet keys, comma-separated, newest first: new values are
sealed with the first, and every listed key still opens what it sealed, so a key is rotated by
putting a new one in front, running `flask rotate-keys`, then dropping the old one."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app


class KeysMissing(RuntimeError):
    """No ENCRYPTION_KEYS: personal identifiers cannot be stored or read."""


def _fernet() -> MultiFernet:
    raw = current_app.config.get("ENCRYPTION_KEYS") or ""
    keys = [k.strip() for k in raw.split(",") if k.strip()]
    if not keys:
        raise KeysMissing("ENCRYPTION_KEYS must be set to store passport numbers "
                          "(generate one with: python -c 'from cryptography.fernet import "
                          "Fernet; print(Fernet.generate_key().decode())')")
    cache = current_app.extensions.setdefault("fernet", {})
    fernet = cache.get(raw)
    if fernet is None:  # (two threads may both build it: each returns its own)
        fernet = MultiFernet([Fernet(k.encode()) for k in keys])
        cache.clear()
        cache[raw] = fernet
    return fernet


def seal(value: str) -> str:
    """The text as a Fernet token (ASCII), safe to store."""
    return _fernet().encrypt(value.encode()).decode()


def unseal(token: str) -> str:
    """The text a token holds; InvalidToken when no configured key opens it."""
    return _fernet().decrypt(token.encode()).decode()


def reseal(token: str) -> str:
    """The same text sealed with the newest key (for rotation)."""
    return _fernet().rotate(token.encode()).decode()


__all__ = ["InvalidToken", "KeysMissing", "reseal", "seal", "unseal"]
