"""Domain errors raised by services and turned into messages or 4xx answers by views."""


class DomainError(Exception):
    """A rule of the business was broken; the message is safe to show the user."""

    code = "invalid"
    status = 400

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class BadRequest(DomainError):
    code = "invalid_request"
    status = 400


class Unprocessable(DomainError):
    code = "invalid_field"
    status = 422


class Unauthorized(DomainError):
    code = "unauthorized"
    status = 401


class NotAllowed(DomainError):
    code = "forbidden"
    status = 403


class NotFound(DomainError):
    code = "not_found"
    status = 404


class Conflict(DomainError):
    code = "conflict"
    status = 409


class FieldInvalid(Unprocessable):
    """A 422 about one field a person filled in: forms show it beside that field, the API
    names it in `fields`."""

    def __init__(self, field: str, message: str, *, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.field = field
        self.fields = {field: [str(message)]}
