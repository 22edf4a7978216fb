"""tandem.connect(): the same API over a running daemon's socket."""

import subprocess

import pytest

import tandem
from conftest import open_service, wait_until


def test_connect_drives_a_daemon_like_an_embedded_service(tmp_path, tandem_bin):
    config = tmp_path / "config"
    daemon = subprocess.Popen([tandem_bin, "--config-dir", str(config), "daemon", "--listen", "tcp/127.0.0.1:0", "--gui", "off",
                               "--log-level", "warn"])
    try:
        def up():
            try:
                tandem.connect(config).close()
                return True
            except tandem.NotRunning:
                return False

        wait_until(up, what="the daemon's socket")
        with tandem.connect(config) as client:
            (tmp_path / "docs").mkdir()
            stream = client.events(types=["local_change_detected"])
            share = client.share_add(tmp_path / "docs")
            assert isinstance(share, tandem.ShareInfo)
            (tmp_path / "docs" / "note.txt").write_text("hi")
            event = next(iter(stream))
            assert event.data["path"] == "note.txt"
            assert [s.id for s in client.share_list()] == [share.id]
            with pytest.raises(tandem.NotFound):
                client.share_get_info("nope")
            with pytest.raises(tandem.InvalidArgument):
                client.share_add("relative")
    finally:
        daemon.terminate()
        assert daemon.wait(30) == 0


def test_connect_without_a_daemon_says_how_to_start_one(tmp_path):
    with pytest.raises(tandem.NotRunning, match="tandem --config-dir"):
        tandem.connect(tmp_path)


def test_connect_reaches_an_embedded_service_with_its_control_socket(tmp_path):
    with open_service(tmp_path / "config", control_socket=True) as svc:
        with tandem.connect(tmp_path / "config") as client:
            assert client.device_info().device_id == svc.device_info().device_id
