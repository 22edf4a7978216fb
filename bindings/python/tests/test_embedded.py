"""Embedded services (libtandem in this process) used as an app would."""

import asyncio
import os
import threading
import time

import pytest

import tandem
from conftest import Pair, address_of, digest, open_service, read, wait_until


def test_two_embedded_services_share_a_folder_and_sync_both_ways(pair):
    (pair.dir_a / "from-a.txt").write_text("written on a")
    wait_until(lambda: read(pair.dir_b / "from-a.txt") == b"written on a", what="a's file on b")
    (pair.dir_b / "docs").mkdir()
    (pair.dir_b / "docs" / "from-b.txt").write_text("written on b")
    wait_until(lambda: read(pair.dir_a / "docs" / "from-b.txt") == b"written on b", what="b's file on a")
    info = pair.a.share_get_info("s")
    assert isinstance(info, tandem.ShareInfo)
    assert info.mode == "write"
    wait_until(lambda: pair.a.share_get_info("s").index.files == 2, what="a indexing both files")
    peers = pair.b.share_list_peers("s")
    assert peers[0].address == address_of(pair.a)
    wait_until(lambda: pair.b.share_list_peers("s")[0].connected, what="b connected")


def test_a_conflict_is_created_listed_and_resolved_from_python(pair):
    (pair.dir_a / "plan.txt").write_text("the original")
    wait_until(lambda: read(pair.dir_b / "plan.txt") == b"the original")
    for s in (pair.a, pair.b):
        s.share_set_sync_enabled("s", False)
    wait_until(lambda: not pair.connected(), what="both paused")
    (pair.dir_a / "plan.txt").write_text("edited on a")
    pair.a.share_rescan("s")
    time.sleep(0.01)  # distinct mtimes (not a wait for the service)
    (pair.dir_b / "plan.txt").write_text("edited on b, later")
    pair.b.share_rescan("s")
    for s in (pair.a, pair.b):
        s.share_set_sync_enabled("s", True)

    def conflicts():
        return pair.a.share_list_conflicts("s")

    def settled():
        return (len(conflicts()) == 1 and len(pair.b.share_list_conflicts("s")) == 1
                and read(pair.dir_a / "plan.txt") == read(pair.dir_b / "plan.txt")
                and pair.a.share_get_info("s").need_files == 0)

    wait_until(settled, what="the conflict on both, in sync")
    (conflict,) = conflicts()
    assert isinstance(conflict, tandem.Conflict)
    assert conflict.path == "plan.txt"
    assert isinstance(conflict.local, tandem.ConflictSide)
    done = pair.a.share_resolve_conflict("s", conflict.conflict, "keep_remote")
    assert isinstance(done, str) and done
    assert pair.a.share_list_conflicts("s") == []
    wait_until(lambda: read(pair.dir_a / "plan.txt") == read(pair.dir_b / "plan.txt"), what="both agree")
    with pytest.raises(tandem.NotFound):
        pair.a.share_resolve_conflict("s", "no-such-conflict", "keep_local")
    with pytest.raises(tandem.InvalidParams):
        pair.a.share_resolve_conflict("s", conflict.conflict, "keep_everything")


def test_ignore_patterns_are_checked_before_they_are_saved_and_keep_files_here(pair):
    with pytest.raises(tandem.InvalidArgument) as refused:
        pair.a.share_set_ignore_patterns("s", "ok\n[unclosed\n")
    assert ".tandemignore:2:" in str(refused.value) and "nothing was saved" in str(refused.value)
    assert not (pair.dir_a / ".tandemignore").exists()
    saved = pair.a.share_set_ignore_patterns("s", "build/\n")
    assert isinstance(saved, tandem.IgnorePatterns)
    assert (saved.text, saved.exists, saved.files, saved.error) == ("build/\n", True, [".tandemignore"], "")
    check = pair.a.share_check_ignored("s", "build/app.o")
    assert isinstance(check, tandem.IgnoreCheck) and check.ignored
    assert check.line == tandem.IgnoreLine(file=".tandemignore", line=1, text="build/")
    assert check.why == "ignored by .tandemignore:1: build/"
    assert not pair.a.share_check_ignored("s", "src/app.c").ignored
    (pair.dir_a / "build").mkdir()
    (pair.dir_a / "build" / "app.o").write_bytes(b"object code")
    (pair.dir_a / "app.c").write_text("int main;")
    wait_until(lambda: read(pair.dir_b / "app.c") == b"int main;", what="the source on b")
    wait_until(lambda: pair.a.share_get_info("s").ignored == 1, what="a counting the ignored file")
    assert not (pair.dir_b / "build" / "app.o").exists()
    assert pair.a.share_get_ignore_patterns("s").ignored == 1


def test_a_peers_overwrite_is_kept_as_a_version_and_restored_from_python(pair):
    (pair.dir_a / "plan.txt").write_text("the plan")
    wait_until(lambda: read(pair.dir_b / "plan.txt") == b"the plan", what="the plan on b")
    (pair.dir_b / "plan.txt").write_text("b's rewrite")
    wait_until(lambda: read(pair.dir_a / "plan.txt") == b"b's rewrite", what="the rewrite on a")
    (kept,) = pair.a.share_list_versions("s", "plan.txt")
    assert isinstance(kept, tandem.Version)
    assert (kept.path, kept.size) == ("plan.txt", len("the plan"))
    assert pair.a.share_get_info("s").versioning == tandem.Versioning(
        type="trashcan", days=30, keep=5, max_bytes=0,
        description="trashcan: the last version of each file, kept for 30 days")
    restored = pair.a.share_restore_version("s", "plan.txt")
    assert restored.time == kept.time
    wait_until(lambda: read(pair.dir_b / "plan.txt") == b"the plan", what="the restore on b")
    with pytest.raises(tandem.NotFound):
        pair.a.share_restore_version("s", "never-there.txt")
    with pytest.raises(tandem.InvalidArgument):
        pair.a.share_set_versioning("s", "external")
    policy = pair.a.share_set_versioning("s", "staggered", days=365)
    assert (policy.type, policy.days) == ("staggered", 365)


def test_bandwidth_limits_are_set_read_back_and_a_too_low_one_is_refused(pair):
    assert pair.a.device_info().limits == tandem.Limits(upload=0, download=0, lan=False)
    assert pair.a.device_set_limits(upload=1 << 20, lan=True) == tandem.Limits(upload=1 << 20, download=0, lan=True)
    assert pair.a.share_set_limits("s", download=65536) == tandem.Limits(upload=0, download=65536, lan=True)
    info = pair.a.share_get_info("s")
    assert (info.upload_limit, info.download_limit) == (0, 65536)
    with pytest.raises(tandem.InvalidArgument, match="at least 32768"):
        pair.a.device_set_limits(download=100)
    assert pair.a.device_info().limits.download == 0
    # The config on disk holds what was set: a reload finds nothing new.
    assert pair.a.config_reload() == "config reloaded: nothing had changed"


def test_tokens_of_each_mode_give_that_access(tmp_path):
    pair = Pair(tmp_path)
    try:
        (pair.dir_a / "a.txt").write_text("plain text")
        wait_until(lambda: read(pair.dir_b / "a.txt") == b"plain text")
        read_token = pair.a.share_get_sync_token("s", "read")
        blind_token = pair.a.share_get_sync_token("s", "blind")
        assert read_token.startswith("tandem:") and blind_token.startswith("tandem:")
        assert len({pair.a.share_get_sync_token("s"), read_token, blind_token}) == 3
        with open_service(tmp_path / "config-c") as c, open_service(tmp_path / "config-d") as d:
            reader = c.share_import_from_token(read_token, tmp_path / "c")
            blind = d.share_import_from_token(blind_token, tmp_path / "d")
            assert (reader.mode, blind.mode) == ("read", "blind")
            c.share_add_peer(reader.id, address_of(pair.a))
            d.share_add_peer(blind.id, address_of(pair.a))
            wait_until(lambda: read(tmp_path / "c" / "a.txt") == b"plain text", what="the reader's copy")
            wait_until(lambda: d.share_get_info(blind.id).index.sealed_blocks > 0, what="the blind copy's blocks")
            assert not (tmp_path / "d" / "a.txt").exists(), "a blind replica never holds plain text"
            with pytest.raises(tandem.FailedPrecondition):
                c.share_get_sync_token(reader.id, "write")
            assert c.share_get_sync_token(reader.id, "blind").startswith("tandem:")
            # The reader's own edit stays its own.
            (tmp_path / "c" / "a.txt").write_text("edited by the reader")
            c.share_rescan(reader.id)
            wait_until(lambda: c.share_get_info(reader.id).local_changes.count == 1, what="the reader's local change")
            assert read(pair.dir_a / "a.txt") == b"plain text"
            assert c.share_revert_local_changes(reader.id) == 1
            wait_until(lambda: read(tmp_path / "c" / "a.txt") == b"plain text", what="the revert")
    finally:
        pair.close()


def test_bad_input_raises_the_right_exception_and_creates_nothing(tmp_path):
    with pytest.raises(tandem.InvalidArgument, match="absolute"):
        tandem.Service.open("relative/config")
    assert not os.path.exists("relative")
    with pytest.raises(tandem.InvalidArgument, match="log_level"):
        tandem.Service.open(tmp_path / "c0", log_level="loud")
    assert not (tmp_path / "c0").exists()
    with open_service(tmp_path / "config") as svc:
        (tmp_path / "docs").mkdir()
        with pytest.raises(tandem.InvalidArgument, match="absolute"):
            svc.share_add("docs")
        with pytest.raises(tandem.InvalidArgument):
            svc.share_import_from_token("tandem:this-is-not-a-token", tmp_path / "joined")
        with pytest.raises(tandem.NotFound):
            svc.share_get_info("no-such-share")
        with pytest.raises(tandem.NotFound):
            svc.share_remove("no-such-share")
        assert svc.share_list() == []
        assert not (tmp_path / "joined").exists()
        assert not (tmp_path / "docs" / ".tandem").exists()
        shared = svc.share_add(tmp_path / "docs")
        with pytest.raises(tandem.AlreadyExists):
            svc.share_add(tmp_path / "docs")
        with pytest.raises(tandem.InvalidArgument):
            svc.share_add_peer(shared.id, "udp/1.2.3.4")
        assert svc.share_list_peers(shared.id) == []
    with pytest.raises(tandem.Closed):
        svc.share_list()


def test_closing_while_a_transfer_runs_stops_cleanly_and_reopening_resumes_it(tmp_path):
    payload = os.urandom(6 << 20)
    # a serves each block after a pause: the transfer is still running when b closes.
    pair = Pair(tmp_path, a_options={"test_hooks": "slow-blocks"})
    try:
        (pair.dir_a / "big.bin").write_bytes(payload)
        since, deadline, midway = 0, time.monotonic() + 60, False
        while not midway and time.monotonic() < deadline:
            page = pair.b.events_poll(since, timeout_ms=1000, types=["download_progress"])
            since = page.last_id
            midway = any(f["bytes_done"] > 0 and not f["finished"] for e in page.events for f in e.data["files"])
        assert midway, "no transfer in progress on b"
        pair.b.close()
        assert digest(pair.dir_b / "big.bin") != digest(pair.dir_a / "big.bin"), "closed mid-transfer"
        pair.b = open_service(tmp_path / "config-b")
        wait_until(lambda: digest(pair.dir_b / "big.bin") == digest(pair.dir_a / "big.bin"), timeout=120,
                   what="the transfer to finish after reopening")
        info = pair.b.share_get_info("s")
        assert info.failed == []
    finally:
        pair.close()


def test_events_arrive_through_the_iterator_and_async_for(pair):
    stream = pair.a.events(types=["local_change_detected"])
    (pair.dir_a / "one.txt").write_text("1")
    first = next(iter(stream))
    assert isinstance(first, tandem.Event)
    assert first.type == "local_change_detected" and first.data["path"] == "one.txt"
    assert first.share == pair.a.share_get_info("s").id

    async def second():
        async for event in pair.a.events(types=["local_change_detected"]):
            if event.data["path"] == "two.txt":
                return event

    async def main():
        task = asyncio.ensure_future(second())
        await asyncio.sleep(0.05)
        (pair.dir_a / "two.txt").write_text("2")
        return await asyncio.wait_for(task, 30)

    event = asyncio.run(main())
    assert event.data["kind"] == "added"


def test_a_stream_ends_when_its_service_closes(tmp_path):
    svc = open_service(tmp_path / "config")
    seen = []
    reader = threading.Thread(target=lambda: seen.extend(svc.events()))
    reader.start()
    wait_until(lambda: reader.is_alive())
    svc.close()
    reader.join(30)
    assert not reader.is_alive()


def test_log_lines_reach_the_given_callback(tmp_path):
    lines = []
    svc = tandem.Service.open(tmp_path / "config", listen="tcp/127.0.0.1:0", log_level="info",
                              log=lambda level, line: lines.append((level, line)))
    svc.close()
    assert any("device" in line for _, line in lines), lines


def test_a_cancelled_async_step_neither_loses_nor_repeats_an_event(pair):
    stream = pair.a.events(types=["local_change_detected"])

    async def main():
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(stream.__anext__(), 0.05)  # leaves its poll running
        (pair.dir_a / "once.txt").write_text("1")
        first = await asyncio.wait_for(stream.__anext__(), 30)
        (pair.dir_a / "twice.txt").write_text("2")
        second = await asyncio.wait_for(stream.__anext__(), 30)
        return first, second

    first, second = asyncio.run(main())
    assert (first.data["path"], second.data["path"]) == ("once.txt", "twice.txt")
    assert second.id > first.id


def test_an_embedded_service_serves_the_web_ui_when_asked(tmp_path):
    import json
    import urllib.error
    import urllib.request

    svc = open_service(tmp_path / "config", gui="127.0.0.1:0")
    try:
        login = svc.gui_login()
        assert login.url.startswith("http://127.0.0.1:") and login.login_url.startswith(login.url + "login?token=")
        assert login.password is False
        # Without a session or key: refused, and the page says how to get in.
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(login.url)
        assert refused.value.code == 401
        # A script with the API key calls the same API.
        request = urllib.request.Request(login.url + "rest/device_info", data=b"{}",
                                         headers={"X-API-Key": login.api_key, "Content-Type": "application/json"})
        with urllib.request.urlopen(request) as answer:
            assert json.load(answer)["result"]["device_id"] == svc.device_info().device_id
        with pytest.raises(tandem.InvalidArgument, match="at least 8"):
            svc.gui_set_password("short")
        assert svc.gui_set_password("long enough password") is True
        assert svc.gui_login().password is True
    finally:
        svc.close()
    # Off unless asked.
    with open_service(tmp_path / "config2") as quiet:
        with pytest.raises(tandem.FailedPrecondition, match="web UI is off"):
            quiet.gui_login()
