"""Rate limits without a per-request cost for the views that have none.

Flask-Limiter checks every request in a before_request hook, working out which limits apply
(defaults, application, blueprint and view limits, exemptions): ~35 µs of every request, a
quarter of /healthz, though here only views decorated with `limiter.limit` have limits, and
those check their own when called (the decorator's own path, which Flask-Limiter uses for any
view it did not check in the hook). So while no default, application or meta limit is
configured, the hook is taken out; with one configured, it stays, as every request then needs
it. The decorated views' limits are tested one by one (429 after their limit).

Its two other hooks (the X-RateLimit headers and conditional deductions after the view; the
request's record cleared at teardown) then run only for a request whose limits were checked:
only a check makes that record (`Limiter.context`, kept on the request context), and without
it both have nothing to do (~8 µs of /healthz, most of it making an empty record to clear it)."""

from __future__ import annotations

from functools import partial

from flask import Flask
from flask.globals import request_ctx
from flask_limiter import Limiter

from booking.core.hooks import run_only_when
from booking.extensions import limiter

#: Settings that put a limit on every request: with any of them, the hook must run.
EVERY_REQUEST = ("RATELIMIT_DEFAULT", "RATELIMIT_APPLICATION", "RATELIMIT_META")

#: Where `Limiter.context` keeps a request's record of checked limits (Flask-Limiter 3 and 4).
CHECKED = "_limiter_request_context"


def register(app: Flask) -> None:
    if any(app.config.get(name) for name in EVERY_REQUEST):
        return
    hooks = app.before_request_funcs.get(None, [])
    hook = limiter._check_request_limit  # noqa: SLF001 - the hook init_app registered
    if hook in hooks:  # (if a later Flask-Limiter names it otherwise, it simply stays)
        hooks.remove(hook)
    _after_a_check_only(app)


def checked() -> bool:
    """Whether this request's limits were checked (so it has a record to act on). (The
    context behind Flask's proxy, taken directly: `hasattr` through the proxy costs ~1 µs.)"""
    return hasattr(request_ctx._get_current_object(), CHECKED)


def _after_a_check_only(app: Flask) -> None:
    inject = getattr(Limiter, "_Limiter__inject_headers", None)
    run_only_when(app.after_request_funcs.get(None, []),
                  lambda hook: isinstance(hook, partial) and hook.func is inject
                  and hook.args == (limiter,),
                  checked, "headers_after_a_check")
    release = getattr(limiter, "_Limiter__release_context", None)
    run_only_when(app.teardown_request_funcs.get(None, []), lambda hook: hook == release,
                  checked, "release_after_a_check")
