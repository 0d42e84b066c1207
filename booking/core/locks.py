"""Serialising writers where the database has no row locks."""

from __future__ import annotations

from booking.extensions import db


def sqlite_write_lock() -> None:
    """On SQLite, take the database write lock now (BEGIN IMMEDIATE), so a read and the write
    that depends on it cannot interleave with another writer. Elsewhere it does nothing: there
    the callers use row locks or constraints."""
    connection = db.session.connection()
    if connection.dialect.name != "sqlite":
        return
    raw = connection.connection.dbapi_connection
    if not raw.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
