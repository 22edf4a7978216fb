"""The Tandem service embedded in this process (libtandem), and a client of
a running daemon's socket. Both give the same methods (tandem.api.Api)."""

from __future__ import annotations

import ctypes
import json
import logging
import os
import socket
import threading
import weakref
from pathlib import Path
from typing import Any, Callable, Optional

from . import _native
from .api import Api
from .errors import BY_KIND, BY_RPC_CODE, Closed, TandemError, from_status

_LEVELS = {0: logging.DEBUG, 1: logging.DEBUG, 2: logging.INFO, 3: logging.WARNING, 4: logging.ERROR}
_logger = logging.getLogger("tandem")


def _to_logging(level: int, line: str) -> None:
    _logger.log(_LEVELS.get(level, logging.ERROR), "%s", line)


class Service(Api):
    """A Tandem service running inside this process, on threads of its own.

    Open one per config folder; several side by side sync with each other
    like separate devices. Close it (or use ``with``) to stop it: running
    transfers stop at a consistent point and resume on the next open."""

    def __init__(self, handle: int, log_callback):
        self._handle = handle
        self._lock = threading.Condition()
        self._closed = False
        self._calls = 0  # threads inside a call into the library
        # A service dropped without close() is closed when collected or at
        # exit; the finalizer keeps the log callback alive until then (the
        # library calls it from its threads).
        self._finalizer = weakref.finalize(self, _close_handle, handle, log_callback)

    @classmethod
    def open(cls, config_dir, *, listen: Optional[str] = None, log_level: str = "info",
             events_kept: Optional[int] = None, control_socket: bool = False,
             log: Optional[Callable[[int, str], None]] = None, tune_allocator: bool = False,
             test_hooks: Optional[str] = None, gui: Optional[str] = None) -> "Service":
        """Opens (creating when missing) the service of ``config_dir``, an absolute path.

        listen: "tcp/HOST:PORT" for peers (port 0: any free one; device_info
        tells which). control_socket: also serve the daemon's socket, so the
        tandem CLI and tandem.connect() reach this service. log: called with
        (level 0..4, line) from the service's threads; default: the
        "tandem" logger of the logging module. tune_allocator: set glibc's
        malloc thresholds for Tandem's blocks, process-wide (as the daemon
        does; about 5 % faster on large transfers). test_hooks: for tests of
        other peers only (a service that misbehaves on purpose). gui:
        serve the web UI on "HOST:PORT" (port 0: any free one; gui_login
        tells which); default: none."""
        lib = _native.library()
        options = {"log_level": log_level, "control_socket": control_socket}
        if tune_allocator:
            options["tune_allocator"] = True
        if listen is not None:
            options["listen"] = listen
        if events_kept is not None:
            options["events_kept"] = events_kept
        if test_hooks is not None:
            options["test_hooks"] = test_hooks
        if gui is not None:
            options["gui"] = gui
        sink = log or _to_logging

        def on_line(_context, level, line, length):
            try:
                sink(level, ctypes.string_at(line, length).decode("utf-8", errors="replace"))
            except Exception:  # a logging failure must never reach the library's thread
                pass

        callback = _native.LOG_FN(on_line)
        handle = ctypes.c_void_p()
        error = ctypes.c_void_p()
        status = lib.tandem_service_open(os.fspath(config_dir).encode(), json.dumps(options).encode(), callback,
                                         None, ctypes.byref(handle), ctypes.byref(error))
        if status != 0:
            raise from_status(status, _native.take_string(lib, error))
        return cls(handle.value, callback)

    def close(self) -> None:
        """Stops the service; waits for running work to end consistently.
        Calls still waiting raise Closed. Closing twice does nothing."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        lib = _native.library()
        # Stop first: calls still waiting (a long poll) end with Closed, new
        # ones fail at once. Only when no thread is inside the library is
        # the handle freed.
        status = lib.tandem_service_stop(self._handle)
        if status != 0:  # from one of this service's own callbacks
            with self._lock:
                self._closed = False
            raise from_status(status, "close() from one of this service's own callbacks would wait for itself")
        with self._lock:
            self._lock.wait_for(lambda: self._calls == 0)
        self._finalizer.detach()
        lib.tandem_service_close(self._handle)

    def __enter__(self) -> "Service":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def _call(self, method: str, params: dict) -> Any:
        with self._lock:
            if self._closed:
                raise Closed("the service is closed")
            self._calls += 1
        lib = _native.library()
        result = ctypes.c_void_p()
        error = ctypes.c_void_p()
        try:
            # ctypes lets go of the GIL for the call: other Python threads run.
            status = lib.tandem_call(self._handle, method.encode(), json.dumps(params).encode(),
                                     ctypes.byref(result), ctypes.byref(error))
        finally:
            with self._lock:
                self._calls -= 1
                self._lock.notify_all()
        if status != 0:
            raise from_status(status, _native.take_string(lib, error))
        return json.loads(_native.take_string(lib, result))


def _close_handle(handle: int, _log_callback) -> None:
    """Closes a service nobody closed (collected, or the interpreter exiting)."""
    lib = _native.library()
    lib.tandem_service_stop(handle)
    lib.tandem_service_close(handle)


def default_config_dir() -> Path:
    """The config folder the tandem command uses by default."""
    if os.environ.get("TANDEM_CONFIG_DIR"):
        return Path(os.environ["TANDEM_CONFIG_DIR"])
    if os.environ.get("XDG_CONFIG_HOME"):
        return Path(os.environ["XDG_CONFIG_HOME"]) / "tandem"
    return Path.home() / ".config" / "tandem"


class NotRunning(TandemError):
    """No daemon answers on the config folder's socket."""

    kind = "not_running"


class Client(Api):
    """A running daemon (or a Service opened with control_socket=True),
    reached through <config dir>/tandem.sock. Safe to share between threads:
    one call at a time goes over the socket."""

    def __init__(self, config_dir):
        self.config_dir = Path(config_dir)
        self._path = self.config_dir / "tandem.sock"
        self._lock = threading.Lock()
        self._next_id = 0
        self._broken = None  # why the connection can no longer be trusted
        self._socket = self._connect()
        self._reader = self._socket.makefile("rb")
        self._owned_by_stream = False

    def _connect(self) -> socket.socket:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(str(self._path))
        except OSError as e:
            s.close()
            raise NotRunning(f"no tandem daemon answers at {self._path} ({e.strerror}); "
                             f"start one with `tandem --config-dir {self.config_dir} daemon`") from None
        return s

    def close(self) -> None:
        self._reader.close()
        self._socket.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _poller(self) -> "Client":
        # A long poll would hold every other call on this socket: streams get their own.
        client = Client(self.config_dir)
        client._owned_by_stream = True
        return client

    def _call(self, method: str, params: dict) -> Any:
        with self._lock:
            if self._broken:
                raise Closed(f"this connection to the daemon is no longer usable ({self._broken}); connect again")
            self._next_id += 1
            request = {"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params}
            try:
                self._socket.sendall(json.dumps(request).encode() + b"\n")
                line = self._reader.readline()
            except BaseException as e:  # an interrupted read leaves its answer on the socket
                self._broken = str(e) or type(e).__name__
                self.close()
                if isinstance(e, OSError):
                    raise Closed(f"the daemon closed the connection ({e})") from None
                raise
            if not line:
                self._broken = "the daemon closed the connection"
                raise Closed(self._broken)
            answer = json.loads(line)
            if answer.get("id") != request["id"]:
                self._broken = f"an answer to request {answer.get('id')} came for request {request['id']}"
                self.close()
                raise Closed(self._broken)
        if "error" in answer:
            error = answer["error"]
            kind = (error.get("data") or {}).get("kind")
            cls = BY_KIND.get(kind) or BY_RPC_CODE.get(error.get("code"), TandemError)
            raise cls(error.get("message", "unknown error"))
        return answer["result"]


def connect(config_dir=None) -> Client:
    """A client of the daemon of ``config_dir`` (default: the tandem command's)."""
    return Client(config_dir if config_dir is not None else default_config_dir())
