"""The API's result types as dataclasses (api/tandem-api.json, "types").

Each class has exactly the described fields; a test holds them together.
Results that are one value in a wrapper (PeerAddress, SyncToken, Done,
Reverted, Empty) come back as that value (SyncToken: the token; its mode is
the one asked for).
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Any, List, Optional


@dataclass(frozen=True)
class AttachedPeer:
    device_id: str
    address: str
    index_received: bool
    records_sent: int
    records_total: int


@dataclass(frozen=True)
class LocalChange:
    path: str
    change: str  # added, modified, deleted
    kind: str  # file, directory, symlink


@dataclass(frozen=True)
class LocalChanges:
    count: int
    paths: List[LocalChange]


@dataclass(frozen=True)
class FailedPath:
    path: str
    reason: str


@dataclass(frozen=True)
class IndexSummary:
    files: int
    directories: int
    symlinks: int
    bytes: int
    records: int
    sequence: int
    sealed_blocks: int
    sealed_bytes: int


@dataclass(frozen=True)
class ScanStats:
    entries_seen: int
    files_hashed: int
    bytes_hashed: int
    records_written: int
    deleted: int
    skipped: int
    duration_ms: int
    time: Optional[int] = None  # Unix seconds, in ShareInfo.last_scan only


@dataclass(frozen=True)
class Versioning:
    type: str  # none, trashcan, simple, staggered
    days: int  # 0: kept for ever
    keep: int  # simple: the last this many of each file
    max_bytes: int  # 0: no cap
    description: str


@dataclass(frozen=True)
class Version:
    path: str  # the file's path in the share
    file: str  # the version's name in .tandem/versions
    time: int  # when it was kept, Unix seconds
    size: int
    device: str  # whose change replaced or deleted it


@dataclass(frozen=True)
class ShareInfo:
    id: str
    name: str
    path: str
    mode: str  # write, read, blind
    enabled: bool
    state: str  # idle, scanning, syncing, waiting for peers, paused, error
    state_reason: str
    completion: Optional[float]  # percent; None until a peer has sent its whole index
    last_error: str
    peers: List[str]
    connected_devices: List[str]
    need_files: int
    need_bytes: int
    need_deletes: int
    received_bytes: int
    sent_bytes: int
    download_rate: int
    upload_rate: int
    last_in_sync: int
    attached_peers: List[AttachedPeer]
    local_changes: LocalChanges
    failed: List[FailedPath]
    skipped: List[str]
    ignored: int  # ignored paths the scans met; a folder ignored whole counts once
    ignore_error: str  # why .tandemignore is not in force as written; empty when it is
    versioning: Versioning
    upload_limit: int  # bytes a second; 0: none
    download_limit: int
    discovery: bool  # announced on the local network
    index: IndexSummary
    last_scan: ScanStats


@dataclass(frozen=True)
class PeerInfo:
    address: str
    state: str
    connected: bool
    device_id: str
    share: Optional[AttachedPeer]
    discovered: bool  # found by LAN discovery, not configured
    last_seen: int  # when its beacon was last heard, Unix seconds (0: configured)


@dataclass(frozen=True)
class ConflictSide:
    device: str
    mtime_ns: int
    size: int
    present: bool


@dataclass(frozen=True)
class Conflict:
    conflict: str
    path: str
    local: ConflictSide
    remote: ConflictSide


@dataclass(frozen=True)
class IgnoreLine:
    file: str
    line: int
    text: str


@dataclass(frozen=True)
class IgnoreCheck:
    path: str
    ignored: bool
    deletable: bool  # (?d): may go with a folder a peer deleted
    line: Optional[IgnoreLine]  # the pattern that decided; None when none matched
    why: str  # "ignored by .tandemignore:3: build/"


@dataclass(frozen=True)
class IgnorePatterns:
    text: str  # .tandemignore as it is on disk
    exists: bool
    files: List[str]  # the files the patterns in force come from
    error: str  # why the file on disk is not in force; empty when it is
    ignored: int


@dataclass(frozen=True)
class Limits:
    upload: int  # bytes a second; 0: none
    download: int
    lan: bool  # the device's: whether limits also hold for peers on the local network


@dataclass(frozen=True)
class DeviceInfo:
    device_id: str
    device_name: str
    listen: str
    config_dir: str
    listening_port: int
    last_event_id: int
    limits: Limits
    upload_rate: int  # bytes a second, all shares together
    download_rate: int


@dataclass(frozen=True)
class GuiLogin:
    url: str
    login_url: str  # works once, for 10 minutes
    api_key: str    # for scripts: the X-API-Key header
    password: bool  # whether one is set


@dataclass(frozen=True)
class GuiPassword:
    password: bool  # whether one is set now


@dataclass(frozen=True)
class Event:
    id: int
    time: str  # RFC 3339, UTC
    type: str
    data: dict
    share: Optional[str] = None


@dataclass(frozen=True)
class EventPage:
    events: List[Event]
    last_id: int
    missed: int


# The description's types that become dataclasses, by name.
DATACLASSES = {cls.__name__: cls for cls in (AttachedPeer, LocalChange, LocalChanges, FailedPath, IndexSummary,
                                             ScanStats, ShareInfo, PeerInfo, ConflictSide, Conflict, DeviceInfo,
                                             Event, EventPage, IgnoreLine, IgnoreCheck, IgnorePatterns, Versioning, Limits,
                                             Version, GuiLogin)}
# One-field results, returned as the field's value.
UNWRAPPED = {"GuiPassword": "password", "PeerAddress": "address", "SyncToken": "token", "Done": "done", "Reverted": "reverted"}


def build(cls: Any, value: Any) -> Any:
    """The JSON value as `cls` (a dataclass, List[...], Optional[...] or plain)."""
    if value is None:
        return None
    origin = typing.get_origin(cls)
    if origin is list or origin is List:
        (item,) = typing.get_args(cls)
        return [build(item, v) for v in value]
    if origin is typing.Union:  # Optional[X]
        inner = [a for a in typing.get_args(cls) if a is not type(None)][0]
        return build(inner, value)
    if dataclasses.is_dataclass(cls):
        hints = typing.get_type_hints(cls)
        names = {f.name for f in dataclasses.fields(cls)}
        # Fields a newer service adds are dropped, not fatal.
        return cls(**{k: build(hints[k], v) for k, v in value.items() if k in names})
    if cls is float and isinstance(value, int):
        return float(value)
    return value
