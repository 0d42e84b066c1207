"""Shared pieces: column types, money, zones, audit trail, authorization policy, errors."""
