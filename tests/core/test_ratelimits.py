"""Rate limits stay where they are set, and cost nothing elsewhere (booking/core/ratelimits.py):
Flask-Limiter's every-request check is taken out unless a limit applies to every request."""

from __future__ import annotations

from booking.extensions import limiter


def test_a_manage_link_answers_429_past_its_limit_without_the_every_request_check(app, client):
    assert limiter._check_request_limit not in app.before_request_funcs[None]
    codes = [client.get("/manage/not-a-real-token").status_code for _ in range(31)]
    assert codes[:30] == [404] * 30 and codes[30] == 429


def test_pages_without_a_limit_are_never_refused(client):
    assert {client.get("/healthz").status_code for _ in range(60)} == {200}


def test_a_limit_on_every_request_keeps_the_every_request_check():
    """(On a bare app: building the real one with a default limit would leave that default on
    the shared limiter for every later test.)"""
    from flask import Flask

    from booking.core import ratelimits

    for setting in ratelimits.EVERY_REQUEST:
        bare = Flask(__name__)
        bare.config[setting] = "2 per minute"
        bare.before_request(limiter._check_request_limit)
        ratelimits.register(bare)
        assert limiter._check_request_limit in bare.before_request_funcs[None]
    bare = Flask(__name__)
    bare.before_request(limiter._check_request_limit)
    ratelimits.register(bare)
    assert limiter._check_request_limit not in bare.before_request_funcs[None]
