"""The API's methods, once, for both ways in: an embedded service
(tandem.Service) and a running daemon's socket (tandem.connect). Each method
is a method of api/tandem-api.json with the same parameters; a test holds
them together."""

from __future__ import annotations

import asyncio
import os
from typing import Any, Iterator, List, Optional, Sequence

from . import types as t
from .errors import Closed


def _result(kind: str):
    """Marks a method with the description's result type."""

    def mark(fn):
        fn.api_result = kind
        return fn

    return mark


def _path(p) -> str:
    # Passed as given: the service, not the binding, refuses a relative path.
    return os.fspath(p)


class Api:
    """Every method of the service API. Subclasses supply ``_call``."""

    def _call(self, method: str, params: dict) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _invoke(self, method: str, **params) -> Any:
        value = self._call(method, {k: v for k, v in params.items() if v is not None})
        return convert(getattr(Api, method).api_result, value)

    @_result("ShareInfo")
    def share_add(self, path, name: Optional[str] = None) -> t.ShareInfo:
        """Shares a folder (an absolute path) and starts indexing it."""
        return self._invoke("share_add", path=_path(path), name=name)

    @_result("ShareInfo")
    def share_import_from_token(self, token: str, path, name: Optional[str] = None) -> t.ShareInfo:
        """Joins a share from its token into a folder (created when missing)."""
        return self._invoke("share_import_from_token", token=token, path=_path(path), name=name)

    @_result("Empty")
    def share_remove(self, share: str, delete_repo: Optional[bool] = None) -> None:
        """Stops syncing a share; its files stay."""
        return self._invoke("share_remove", share=share, delete_repo=delete_repo)

    @_result("[ShareInfo]")
    def share_list(self) -> List[t.ShareInfo]:
        return self._invoke("share_list")

    @_result("ShareInfo")
    def share_get_info(self, share: str) -> t.ShareInfo:
        return self._invoke("share_get_info", share=share)

    @_result("PeerAddress")
    def share_add_peer(self, share: str, address: str) -> str:
        """Adds tcp/HOST:PORT as a peer of the share; returns it in normal form."""
        return self._invoke("share_add_peer", share=share, address=address)

    @_result("Empty")
    def share_remove_peer(self, share: str, address: str) -> None:
        return self._invoke("share_remove_peer", share=share, address=address)

    @_result("[PeerInfo]")
    def share_list_peers(self, share: str) -> List[t.PeerInfo]:
        return self._invoke("share_list_peers", share=share)

    @_result("Empty")
    def share_set_sync_enabled(self, share: str, enabled: bool) -> None:
        return self._invoke("share_set_sync_enabled", share=share, enabled=enabled)

    @_result("Empty")
    def share_set_discovery(self, share: str, enabled: bool) -> None:
        """LAN discovery for the share: announced on the local network, and
        peers holding it found there without a peer entry."""
        return self._invoke("share_set_discovery", share=share, enabled=enabled)

    @_result("SyncToken")
    def share_get_sync_token(self, share: str, mode: Optional[str] = None) -> str:
        """A token granting "write" (default), "read" or "blind" access."""
        return self._invoke("share_get_sync_token", share=share, mode=mode)

    @_result("ScanStats")
    def share_rescan(self, share: str) -> t.ScanStats:
        return self._invoke("share_rescan", share=share)

    @_result("[Conflict]")
    def share_list_conflicts(self, share: str) -> List[t.Conflict]:
        return self._invoke("share_list_conflicts", share=share)

    @_result("Done")
    def share_resolve_conflict(self, share: str, conflict: str, keep: str) -> str:
        """keep: "keep_local", "keep_remote" or "keep_both"; returns what was done."""
        return self._invoke("share_resolve_conflict", share=share, conflict=conflict, keep=keep)

    @_result("Done")
    def share_repair(self, share: str, force: Optional[bool] = None) -> str:
        return self._invoke("share_repair", share=share, force=force)

    @_result("Reverted")
    def share_revert_local_changes(self, share: str, path: Optional[str] = None) -> int:
        return self._invoke("share_revert_local_changes", share=share, path=path)

    @_result("IgnoreCheck")
    def share_check_ignored(self, share: str, path: str) -> t.IgnoreCheck:
        """Whether ``path`` is ignored here, and by which line of which pattern file."""
        return self._invoke("share_check_ignored", share=share, path=path)

    @_result("IgnorePatterns")
    def share_get_ignore_patterns(self, share: str) -> t.IgnorePatterns:
        return self._invoke("share_get_ignore_patterns", share=share)

    @_result("IgnorePatterns")
    def share_set_ignore_patterns(self, share: str, text: str) -> t.IgnorePatterns:
        """Replaces .tandemignore; InvalidArgument naming the line if ``text``
        does not compile (and nothing is saved)."""
        return self._invoke("share_set_ignore_patterns", share=share, text=text)

    @_result("Versioning")
    def share_set_versioning(self, share: str, type: str, days: Optional[int] = None, keep: Optional[int] = None,
                             max_bytes: Optional[int] = None) -> t.Versioning:
        """type: "none", "trashcan", "simple" or "staggered"."""
        return self._invoke("share_set_versioning", share=share, type=type, days=days, keep=keep, max_bytes=max_bytes)

    @_result("[Version]")
    def share_list_versions(self, share: str, path: Optional[str] = None) -> List[t.Version]:
        return self._invoke("share_list_versions", share=share, path=path)

    @_result("Version")
    def share_restore_version(self, share: str, path: str, at: Optional[int] = None) -> t.Version:
        """Puts back the newest version of ``path`` (kept at or before ``at``, Unix seconds)."""
        return self._invoke("share_restore_version", share=share, path=path, at=at)

    @_result("DeviceInfo")
    def device_info(self) -> t.DeviceInfo:
        return self._invoke("device_info")

    @_result("Done")
    def config_reload(self) -> str:
        """Reads config.json again and puts in force what changed there; what changed, in words."""
        return self._invoke("config_reload")

    @_result("Limits")
    def device_set_limits(self, upload: Optional[int] = None, download: Optional[int] = None,
                          lan: Optional[bool] = None) -> t.Limits:
        """Bytes a second for all shares together (0: none, else at least
        32768); what is not given stays as it was."""
        return self._invoke("device_set_limits", upload=upload, download=download, lan=lan)

    @_result("Limits")
    def share_set_limits(self, share: str, upload: Optional[int] = None, download: Optional[int] = None) -> t.Limits:
        """One share's limits, beside the device's."""
        return self._invoke("share_set_limits", share=share, upload=upload, download=download)

    @_result("GuiLogin")
    def gui_login(self) -> t.GuiLogin:
        """The web UI's address, a one-time login link and the API key."""
        return self._invoke("gui_login")

    @_result("GuiPassword")
    def gui_set_password(self, password: str) -> bool:
        """Sets the web UI's password (at least 8 characters), or clears it when
        empty; returns whether one is set."""
        return self._invoke("gui_set_password", password=password)

    @_result("EventPage")
    def events_poll(self, since: int, timeout_ms: Optional[int] = None, types: Optional[Sequence[str]] = None,
                    share: Optional[str] = None, limit: Optional[int] = None) -> t.EventPage:
        """Events after ``since``, waiting up to ``timeout_ms`` for one."""
        return self._invoke("events_poll", since=since, timeout_ms=timeout_ms,
                            types=list(types) if types is not None else None, share=share, limit=limit)

    def events(self, since: Optional[int] = None, types: Optional[Sequence[str]] = None,
               share: Optional[str] = None) -> "EventStream":
        """The events from now on (or after id ``since``; 0: all kept), as an
        iterator (``for e in svc.events()``) or an async iterator
        (``async for e in svc.events()``). It ends when the service closes."""
        return EventStream(self._poller(), since, types, share)

    def _poller(self) -> "Api":
        """Who a stream polls through: itself, unless a poll would hold up other calls."""
        return self


def convert(kind: str, value: Any) -> Any:
    if kind == "Empty":
        return None
    if kind.startswith("["):
        return [convert(kind[1:-1], v) for v in value]
    if kind in t.UNWRAPPED:
        return value[t.UNWRAPPED[kind]]
    return t.build(t.DATACLASSES[kind], value)


class EventStream:
    """Events one after the other, read by long polls. ``missed`` counts
    events the service no longer kept when this stream asked (it fell behind).
    Iterate it (``for``) or await it (``async for``), not both at once."""

    poll_ms = 1000  # how long one poll waits; bounds how long close() can take to end the stream

    def __init__(self, api: Api, since: Optional[int], types, share):
        self._api = api
        self._since = since
        self._types = list(types) if types else None
        self._share = share
        self._buffer: List[t.Event] = []
        self._ended = False
        self._lock = None  # an asyncio.Lock, made in the loop that first awaits
        self._polling = None  # the poll under way for `async for`, if any
        self.missed = 0

    def _poll_once(self) -> None:
        """One long poll into the buffer; ends the stream once the service is closed."""
        try:
            if self._since is None:
                self._since = self._api.device_info().last_event_id
            page = self._api.events_poll(self._since, timeout_ms=self.poll_ms, types=self._types,
                                         share=self._share)
        except Closed:
            self.close()
            return
        self._since = page.last_id
        self.missed += page.missed
        self._buffer.extend(page.events)

    def close(self) -> None:
        """Ends the stream (and a socket client's own connection for it)."""
        self._ended = True
        if self._api is not None and hasattr(self._api, "close") and getattr(self._api, "_owned_by_stream", False):
            self._api.close()

    def __iter__(self) -> Iterator[t.Event]:
        return self

    def __next__(self) -> t.Event:
        while not self._buffer and not self._ended:
            self._poll_once()
        if not self._buffer:
            raise StopIteration
        return self._buffer.pop(0)

    def __aiter__(self) -> "EventStream":
        return self

    async def __anext__(self) -> t.Event:
        if self._lock is None:
            self._lock = asyncio.Lock()
        # One poll per executor job, and never two at once: a poll left
        # running by a cancelled __anext__ (an executor job cannot be
        # stopped) is awaited by the next one instead of started again, so
        # no id is read twice.
        async with self._lock:
            loop = asyncio.get_running_loop()
            while not self._buffer and not self._ended:
                if self._polling is None:
                    self._polling = loop.run_in_executor(None, self._poll_once)
                try:
                    await asyncio.shield(self._polling)
                finally:
                    if self._polling.done():
                        self._polling = None
            if not self._buffer:
                raise StopAsyncIteration
            return self._buffer.pop(0)
