"""The OpenAPI 3.1 document for /api/v1 (kept beside the routes; a test keeps them in step)."""

from __future__ import annotations

ERROR = {"$ref": "#/components/schemas/Error"}
BOOKING = {"$ref": "#/components/schemas/Booking"}


def _errors(*codes: int) -> dict:
    return {str(c): {"description": "Error", "content": {"application/json": {"schema": ERROR}}}
            for c in codes}


def _ok(schema: dict, status: str = "200", description: str = "OK") -> dict:
    return {status: {"description": description,
                     "content": {"application/json": {"schema": schema}}}}


def _id_param(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}


def document() -> dict:
    booking_id = [_id_param("booking_id")]
    return {
        "openapi": "3.1.0",
        "info": {"title": "SpineBridge API", "version": "1.0.0",
                 "description": "Clinics, availability and bookings. Instants are ISO 8601 "
                                "UTC; errors are {\"error\": {\"code\", \"message\"}}."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}, {"session": []}],
        "paths": {
            "/openapi.json": {"get": {"summary": "This document", "security": [],
                                      "responses": _ok({"type": "object"})}},
            "/clinics": {"get": {"summary": "Clinics with their doctors", "security": [],
                                 "responses": _ok({"type": "object"})}},
            "/consultation-types": {"get": {
                "summary": "Bookable consultation types", "security": [],
                "parameters": [{"name": "clinic", "in": "query",
                                "schema": {"type": "integer"}}],
                "responses": {**_ok({"type": "object"}), **_errors(422)}}},
            "/availability": {"get": {
                "summary": "Free slots", "security": [],
                "parameters": [
                    {"name": "consultation_type", "in": "query", "required": True,
                     "schema": {"type": "integer"}},
                    {"name": "doctor", "in": "query", "schema": {"type": "integer"}},
                    {"name": "from", "in": "query", "schema": {"type": "string"},
                     "description": "A date (in tz) or an ISO 8601 date-time"},
                    {"name": "to", "in": "query", "schema": {"type": "string"}},
                    {"name": "tz", "in": "query", "schema": {"type": "string"},
                     "description": "IANA zone for start_local"},
                ],
                "responses": {**_ok({"type": "object", "properties": {"slots": {
                    "type": "array", "items": {"$ref": "#/components/schemas/Slot"}}}}),
                    **_errors(404, 422)}}},
            "/bookings": {"post": {
                "summary": "Hold a slot",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["consultation_type", "doctor", "start"],
                    "properties": {"consultation_type": {"type": "integer"},
                                   "doctor": {"type": "integer"},
                                   "start": {"type": "string", "format": "date-time"},
                                   "timezone": {"type": "string"},
                                   "patient": {"type": "integer",
                                               "description": "staff booking for a patient"}},
                }}}},
                "responses": {**_ok(BOOKING, "201", "Held"),
                              **_errors(400, 401, 403, 404, 409, 422)}}},
            "/bookings/{booking_id}": {"get": {
                "summary": "One booking", "parameters": booking_id,
                "responses": {**_ok(BOOKING), **_errors(401, 404)}}},
            "/bookings/{booking_id}/cancel": {"post": {
                "summary": "Cancel", "parameters": booking_id,
                "responses": {**_ok(BOOKING), **_errors(401, 404, 409)}}},
            "/bookings/{booking_id}/reschedule": {"post": {
                "summary": "Move a confirmed booking", "parameters": booking_id,
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["start"],
                    "properties": {"start": {"type": "string", "format": "date-time"},
                                   "doctor": {"type": "integer"}}}}}},
                "responses": {**_ok(BOOKING), **_errors(400, 401, 404, 409, 422)}}},
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "Token from your profile or `flask api-token create`"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session",
                            "description": "Browser session; writes need X-CSRFToken"},
            },
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                    "type": "object", "required": ["code", "message"],
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}},
                "Slot": {"type": "object", "properties": {
                    "doctor": {"type": "integer"},
                    "start": {"type": "string", "format": "date-time"},
                    "end": {"type": "string", "format": "date-time"},
                    "start_local": {"type": "string"}, "start_bangkok": {"type": "string"}}},
                "Booking": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "reference": {"type": "string"},
                    "state": {"type": "string", "enum": [
                        "held", "confirmed", "completed", "no_show", "expired",
                        "cancelled_by_patient", "cancelled_by_clinic"]},
                    "start": {"type": "string", "format": "date-time"},
                    "end": {"type": "string", "format": "date-time"},
                    "start_local": {"type": "string"}, "start_bangkok": {"type": "string"},
                    "hold_expires_at": {"type": ["string", "null"], "format": "date-time"},
                    "video_url": {"type": ["string", "null"], "format": "uri"},
                    "deposit": {"type": "object"}, "history": {"type": "array"}}},
            },
        },
    }
