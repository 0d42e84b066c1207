"""Rate limits without a per-request cost for the views that have none.

Flask-Limiter checks every request in a before_request hook, working out which limits apply
(defaults, application, blueprint and view limits, exemptions): ~35 µs of every request, a
quarter of /healthz, though here only views decorated with `limiter.limit` have limits, and
those check their own when called (the decorator's own path, which Flask-Limiter uses for any
view it did not check in the hook). So while no default, application or meta limit is
configured, the hook is taken out; with one configured, it stays, as every request then needs
it. The decorated views' limits are tested one by one (429 after their limit)."""

from __future__ import annotations

from flask import Flask

from booking.extensions import limiter

#: Settings that put a limit on every request: with any of them, the hook must run.
EVERY_REQUEST = ("RATELIMIT_DEFAULT", "RATELIMIT_APPLICATION", "RATELIMIT_META")


def register(app: Flask) -> None:
    if any(app.config.get(name) for name in EVERY_REQUEST):
        return
    hooks = app.before_request_funcs.get(None, [])
    hook = limiter._check_request_limit  # noqa: SLF001 - the hook init_app registered
    if hook in hooks:  # (if a later Flask-Limiter names it otherwise, it simply stays)
        hooks.remove(hook)
