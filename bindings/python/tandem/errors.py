"""One exception class per error kind of the API (api/tandem-api.json, "errors")."""

from __future__ import annotations


class TandemError(Exception):
    """A call failed. ``kind`` names the error kind, ``str(e)`` says what to do."""

    kind = "unknown"
    status = -1

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidArgument(TandemError):
    """The caller gave something malformed: a relative path, a bad token, a bad address."""

    kind, status = "invalid_argument", 1


class NotFound(TandemError):
    """The named thing does not exist: an unknown share, conflict or peer."""

    kind, status = "not_found", 2


class AlreadyExists(TandemError):
    """The thing to create is already there."""

    kind, status = "already_exists", 3


class FailedPrecondition(TandemError):
    """A valid request in the wrong state."""

    kind, status = "failed_precondition", 4


class Unsupported(TandemError):
    """Understood but not implemented."""

    kind, status = "unsupported", 5


class Corrupt(TandemError):
    """Stored or received bytes fail verification."""

    kind, status = "corrupt", 6


class StorageError(TandemError):
    """The filesystem or database refused (kind "io")."""

    kind, status = "io", 7


class InternalError(TandemError):
    """Should not happen; a bug worth reporting."""

    kind, status = "internal", 8


class UnknownMethod(TandemError):
    """No such method in the API."""

    kind, status = "unknown_method", 9


class InvalidParams(TandemError):
    """A parameter missing, of the wrong type, or not one the method takes."""

    kind, status = "invalid_params", 10


class Closed(TandemError):
    """The service was closed before the call ended."""

    kind, status = "closed", 11


class WrongThread(TandemError):
    """A blocking call from one of the service's own callbacks."""

    kind, status = "wrong_thread", 12


ERRORS = [InvalidArgument, NotFound, AlreadyExists, FailedPrecondition, Unsupported, Corrupt, StorageError,
          InternalError, UnknownMethod, InvalidParams, Closed, WrongThread]
BY_KIND = {e.kind: e for e in ERRORS}
BY_STATUS = {e.status: e for e in ERRORS}
# JSON-RPC's own codes, for errors without a kind (the socket client).
BY_RPC_CODE = {-32601: UnknownMethod, -32602: InvalidParams, -32600: InvalidParams, -32700: InvalidParams}


def from_status(status: int, message: str) -> TandemError:
    return BY_STATUS.get(status, TandemError)(message)
