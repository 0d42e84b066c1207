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


def test_a_limited_view_still_says_what_is_left_and_others_say_nothing(client):
    """The headers hook runs only after a check (ratelimits._after_a_check_only): a limited
    view's answers count down; a view with no limit carries no limit headers."""
    first = client.get("/manage/not-a-real-token")
    second = client.get("/manage/not-a-real-token")
    assert first.headers["X-RateLimit-Limit"] == "30"
    assert int(first.headers["X-RateLimit-Remaining"]) == 29
    assert int(second.headers["X-RateLimit-Remaining"]) == 28
    assert int(second.headers["X-RateLimit-Reset"]) > 0
    probe = client.get("/healthz")
    assert probe.status_code == 200
    assert not [name for name in probe.headers.keys() if name.startswith("X-RateLimit")]
    refused = [client.get("/manage/not-a-real-token") for _ in range(29)][-1]
    assert refused.status_code == 429 and "Retry-After" in refused.headers


def test_the_after_and_teardown_hooks_are_wrapped_not_lost(app):
    """If a later Flask-Limiter renamed its hooks they would stay as they are (unwrapped);
    this says when that happened, so the saving is not silently lost."""
    after = [getattr(hook, "__name__", "") for hook in app.after_request_funcs[None]]
    teardown = [getattr(hook, "__name__", "") for hook in app.teardown_request_funcs[None]]
    assert "headers_after_a_check" in after
    assert "release_after_a_check" in teardown
