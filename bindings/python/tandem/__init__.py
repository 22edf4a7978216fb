"""Tandem: peer-to-peer folder sync, from Python.

Two ways in, one API (api/tandem-api.json):

    svc = tandem.Service.open("/abs/config")   # the service, in this process
    cli = tandem.connect("/abs/config")        # a running daemon's socket
"""

from .api import Api, EventStream
from .errors import (AlreadyExists, Closed, Corrupt, FailedPrecondition, InternalError, InvalidArgument,
                     InvalidParams, NotFound, StorageError, TandemError, UnknownMethod, Unsupported, WrongThread)
from .service import Client, NotRunning, Service, connect, default_config_dir
from .types import (AttachedPeer, Conflict, ConflictSide, DeviceInfo, Event, EventPage, FailedPath, GuiLogin, IgnoreCheck,
                    IgnoreLine, IgnorePatterns, IndexSummary, Limits, LocalChange, LocalChanges, PeerInfo, ScanStats,
                    ShareInfo, Version, Versioning)

__all__ = [
    "Api", "EventStream", "Service", "Client", "connect", "default_config_dir", "NotRunning",
    "TandemError", "InvalidArgument", "NotFound", "AlreadyExists", "FailedPrecondition", "Unsupported", "Corrupt",
    "StorageError", "InternalError", "UnknownMethod", "InvalidParams", "Closed", "WrongThread",
    "AttachedPeer", "Conflict", "ConflictSide", "DeviceInfo", "Event", "EventPage", "FailedPath", "GuiLogin", "IndexSummary",
    "Limits", "LocalChange", "LocalChanges", "PeerInfo", "ScanStats", "ShareInfo", "IgnoreCheck", "IgnoreLine",
    "IgnorePatterns", "Version", "Versioning",
]
