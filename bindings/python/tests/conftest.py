"""Shared helpers: real embedded services on real folders, syncing over
loopback TLS inside the test process. Waits poll a condition with a deadline."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

import tandem

REPO = Path(__file__).resolve().parents[3]
API_DESCRIPTION = REPO / "api" / "tandem-api.json"


def wait_until(condition, timeout: float = 30.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"{what} did not hold within {timeout} s")


def read(path: Path):
    try:
        return path.read_bytes()
    except OSError:
        return None


def digest(path: Path):
    data = read(path)
    return hashlib.sha256(data).hexdigest() if data is not None else None


def open_service(config: Path, **options) -> tandem.Service:
    options.setdefault("listen", "tcp/127.0.0.1:0")
    options.setdefault("log_level", "warn")
    return tandem.Service.open(config, **options)


def address_of(service: tandem.Service) -> str:
    return f"tcp/127.0.0.1:{service.device_info().listening_port}"


class Pair:
    """Two devices in this process sharing one folder: a's and b's."""

    def __init__(self, root: Path, mode: str = "write", a_options=None, b_options=None):
        self.root = root
        self.dir_a = root / "a"
        self.dir_b = root / "b"
        self.dir_a.mkdir()
        self.a = open_service(root / "config-a", **(a_options or {}))
        self.b = open_service(root / "config-b", **(b_options or {}))
        self.share_a = self.a.share_add(self.dir_a, name="s").id
        token = self.a.share_get_sync_token(self.share_a, mode)
        self.share_b = self.b.share_import_from_token(token, self.dir_b, name="s").id
        self.b.share_add_peer(self.share_b, address_of(self.a))

    def connected(self) -> bool:
        return bool(self.a.share_get_info("s").connected_devices) and bool(self.b.share_get_info("s").connected_devices)

    def close(self):
        self.b.close()
        self.a.close()


@pytest.fixture
def pair(tmp_path):
    p = Pair(tmp_path)
    yield p
    p.close()


@pytest.fixture
def tandem_bin():
    path = os.environ.get("TANDEM_BIN")
    if not path:
        pytest.skip("TANDEM_BIN names the tandem executable (make test sets it)")
    return path
