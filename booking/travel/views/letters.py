"""Visa support letters: the patient requests, the clinic issues or declines, anyone with the
letter verifies it."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("letters", __name__)
