"""Helpers for the API tests."""

from __future__ import annotations


def api(client, method, path, token=None, **kwargs):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    headers.update(kwargs.pop("headers", {}))
    return getattr(client, method)(f"/api/v1{path}", headers=headers, **kwargs)


def assert_error_shape(response, status: int | None = None) -> dict:
    """A 4xx in the one JSON shape: {"error": {"code", "message", "fields"?}}."""
    if status is not None:
        assert response.status_code == status, (response.status_code, response.json)
    assert 400 <= response.status_code < 500, response.status_code
    assert response.mimetype == "application/json"
    error = response.json["error"]
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    if "fields" in error:
        assert all(isinstance(m, str) for msgs in error["fields"].values() for m in msgs)
    return error
