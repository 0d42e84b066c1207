"""Flask-Talisman with its headers worked out once per endpoint instead of on every request.

Talisman rebuilds the same policy strings for every response (4 option lookups, the CSP
joined again, each header set one by one: ~0.05 ms, a tenth of /healthz). The headers depend
only on the endpoint's options (`view.talisman_view_options`) — except HSTS, which depends on
whether the request came over HTTPS, and a CSP nonce, which is per request. So: with no nonce
in use, each endpoint's headers are computed by Talisman's own code on its first response and
copied afterwards; HSTS is still decided per request (when it is on at all); with a nonce,
Talisman runs as before.

Copied, they are appended as the pairs Werkzeug already checked when they were first set
(setting each again re-checks it for newlines and scans the response's headers: ~7 µs of
/healthz), unless the view set one of them itself: then each is set as Talisman sets it.

One option Talisman has no per-view form for: `referrer_policy`, given with `per_view` like the
others (a page whose address is its secret sends no Referer from it)."""

from __future__ import annotations

import flask
from flask_talisman import Talisman
from werkzeug.datastructures import Headers

#: No endpoint given: the request's.
MISSING = object()


def per_view(**options):  # type: ignore[no-untyped-def]
    """Talisman's per-view decorator (`talisman(...)`), for views defined before the app's
    instance exists: like it, it only marks the view with its options, read per endpoint."""
    return Talisman.__call__(None, **options)  # type: ignore[arg-type] # (self is unused)


class CachedTalisman(Talisman):
    """Talisman, same settings and same headers, computed once per endpoint."""

    def init_app(self, app, **kwargs):  # type: ignore[no-untyped-def, override]
        super().init_app(app, **kwargs)
        self._options_by_endpoint: dict[str | None, dict] = {}
        self._headers_by_endpoint: dict[str | None, tuple[frozenset[str], list]] = {}
        # Its two before_request hooks, in their order, as one (one options lookup).
        hooks = app.before_request_funcs[None]
        first = hooks.index(self._force_https)
        hooks[first:first + 2] = [self._before_view]

    def _before_view(self):  # type: ignore[no-untyped-def]
        options = self._get_local_options()
        if options["force_https"]:
            redirect = Talisman._force_https(self)
            if redirect is not None:
                return redirect
        elif self.session_cookie_secure and not self.app.debug:
            self.app.config["SESSION_COOKIE_SECURE"] = True  # (as Talisman's own hook)
        if options["content_security_policy_nonce_in"]:
            Talisman._make_nonce(self)
        return None

    def _get_local_options(self, endpoint=MISSING):  # type: ignore[no-untyped-def]
        # A view's options never change once the app serves (they are set where it is
        # defined), so Talisman's per-request merge is done once per endpoint.
        if endpoint is MISSING:
            endpoint = flask.request.endpoint
        options = self._options_by_endpoint.get(endpoint)
        if options is None:
            options = self._options_by_endpoint[endpoint] = super()._get_local_options()
        return options

    def _set_referrer_policy_headers(self, headers):  # type: ignore[no-untyped-def]
        headers["Referrer-Policy"] = self._get_local_options().get("referrer_policy",
                                                                   self.referrer_policy)

    def _set_response_headers(self, response):  # type: ignore[no-untyped-def]
        endpoint = flask.request.endpoint
        options = self._get_local_options(endpoint)
        if options["content_security_policy_nonce_in"]:
            return super()._set_response_headers(response)  # a nonce: per request
        fixed = self._headers_by_endpoint.get(endpoint)
        if fixed is None:
            computed = Headers()
            self._set_feature_policy_headers(computed, options)
            self._set_permissions_policy_headers(computed, options)
            self._set_document_policy_headers(computed, options)
            self._set_frame_options_headers(computed, options)
            self._set_content_security_policy_headers(computed, options)
            self._set_referrer_policy_headers(computed)
            pairs = list(computed.items())
            fixed = self._headers_by_endpoint[endpoint] = (
                frozenset(name.lower() for name, _ in pairs), pairs)
        names, pairs = fixed
        headers = response.headers
        if names.isdisjoint([name.lower() for name, _ in headers._list]):  # noqa: SLF001
            headers._list.extend(pairs)  # noqa: SLF001 - Werkzeug's own list of checked pairs
        else:
            for name, value in pairs:
                headers[name] = value
        if self.strict_transport_security:
            self._set_hsts_headers(headers)  # depends on this request's scheme
        return response
