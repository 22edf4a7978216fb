"""libtandem through ctypes: finding the library and declaring its C ABI
(include/tandem/tandem.h). Nothing here knows the API's methods."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from pathlib import Path

ABI_VERSION = 1

LOG_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int32, ctypes.c_void_p, ctypes.c_size_t)
DONE_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int32, ctypes.c_void_p, ctypes.c_size_t)

_lib = None


def _candidates():
    named = os.environ.get("TANDEM_LIBRARY")
    if named:
        yield named
        return
    here = Path(__file__).resolve().parent
    yield str(here / "libtandem.so")
    found = ctypes.util.find_library("tandem")
    if found:
        yield found


def library() -> ctypes.CDLL:
    """The loaded libtandem (TANDEM_LIBRARY names it; else beside this package
    or where the system's loader finds it)."""
    global _lib
    if _lib is not None:
        return _lib
    tried = []
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            tried.append(f"{path}: {e}")
            continue
        _declare(lib)
        version = lib.tandem_abi_version()
        if version != ABI_VERSION:
            raise ImportError(f"{path} speaks C ABI version {version}; this package needs {ABI_VERSION}: "
                              "install the matching libtandem or tandem package")
        _lib = lib
        return lib
    raise ImportError("libtandem not found (" + ("; ".join(tried) or "nothing to try") +
                      "); build it (make build: build/libtandem.so) and set TANDEM_LIBRARY to its path")


def _declare(lib: ctypes.CDLL) -> None:
    c_char_pp = ctypes.POINTER(ctypes.c_void_p)
    lib.tandem_abi_version.restype = ctypes.c_uint32
    lib.tandem_abi_version.argtypes = []
    lib.tandem_status_name.restype = ctypes.c_char_p
    lib.tandem_status_name.argtypes = [ctypes.c_int32]
    lib.tandem_service_open.restype = ctypes.c_int32
    lib.tandem_service_open.argtypes = [ctypes.c_char_p, ctypes.c_char_p, LOG_FN, ctypes.c_void_p,
                                        ctypes.POINTER(ctypes.c_void_p), c_char_pp]
    lib.tandem_service_stop.restype = ctypes.c_int32
    lib.tandem_service_stop.argtypes = [ctypes.c_void_p]
    lib.tandem_service_close.restype = ctypes.c_int32
    lib.tandem_service_close.argtypes = [ctypes.c_void_p]
    lib.tandem_call.restype = ctypes.c_int32
    lib.tandem_call.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, c_char_pp, c_char_pp]
    lib.tandem_call_async.restype = ctypes.c_int32
    lib.tandem_call_async.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, DONE_FN, ctypes.c_void_p]
    lib.tandem_events_poll.restype = ctypes.c_int32
    lib.tandem_events_poll.argtypes = [ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint32, ctypes.c_char_p,
                                       c_char_pp, c_char_pp]
    lib.tandem_free.restype = None
    lib.tandem_free.argtypes = [ctypes.c_void_p]


def take_string(lib: ctypes.CDLL, pointer: ctypes.c_void_p) -> str:
    """The library's string as str; frees it."""
    if not pointer.value:
        return ""
    try:
        return ctypes.string_at(pointer.value).decode("utf-8", errors="replace")
    finally:
        lib.tandem_free(pointer)
