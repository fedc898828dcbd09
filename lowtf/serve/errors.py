"""What can go wrong with a request, as one status code that each front end maps to its own wire:
TF Serving's ``tensorflow::Status`` codes, which REST turns into HTTP statuses and gRPC sends as they are."""
from __future__ import annotations


class ServingError(Exception):
    """A request the server answers with an error; ``code`` is the gRPC status code's name."""

    code = "INTERNAL"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidArgument(ServingError, ValueError):
    """The request is malformed or does not fit the signature (HTTP 400)."""

    code = "INVALID_ARGUMENT"


class NotFound(ServingError, LookupError):
    """Unknown model, version or signature (HTTP 404)."""

    code = "NOT_FOUND"


class DeadlineExceeded(ServingError):
    """The request ran out of time (HTTP 504)."""

    code = "DEADLINE_EXCEEDED"


class Unavailable(ServingError):
    """The server is too busy to take the request now (HTTP 503)."""

    code = "UNAVAILABLE"


# REST's statuses for the codes, as TF Serving's HTTP handler maps them.
HTTP_STATUS = {"INVALID_ARGUMENT": 400, "FAILED_PRECONDITION": 400, "OUT_OF_RANGE": 400, "NOT_FOUND": 404,
               "RESOURCE_EXHAUSTED": 429, "UNIMPLEMENTED": 501, "UNAVAILABLE": 503, "DEADLINE_EXCEEDED": 504,
               "INTERNAL": 500}


class ResourceExhausted(ServingError):
    """The request needs more memory than one request may have (HTTP 429, as TF Serving maps it)."""

    code = "RESOURCE_EXHAUSTED"
