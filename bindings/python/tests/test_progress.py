"""Live progress of upload/download (the ``progress`` callable) and fsspec's callbacks moving
during put/get. Counts, order and threads are asserted, never timings: with
``progress_interval=0`` every change the copy makes between two calls is reported, and a
multi-block file copies in many round trips, so intermediate reports always exist."""

from __future__ import annotations

import asyncio
import os
import threading
import time

import pytest
from fsspec.callbacks import Callback

from zerofs9p import TransferProgress
from zerofs9p.fsspec import ZeroFsFileSystem

SIZE = 4 << 20  # 64 blocks of 64 KiB
BLOCK = 64 << 10


class Boom(Exception):
    pass


@pytest.fixture
def big(tmp_path):
    p = tmp_path / "big.bin"
    p.write_bytes(os.urandom(SIZE))
    return p


def check_file_reports(calls: list[TransferProgress], size: int) -> None:
    """One file's reports: several, monotone, the last one the totals, none repeated."""
    assert len(calls) >= 3, calls
    assert all(isinstance(p, TransferProgress) for p in calls)
    done = [p.bytes_done for p in calls]
    assert done == sorted(done), "bytes_done never goes back"
    assert [p.files_done for p in calls] == sorted(p.files_done for p in calls)
    assert any(0 < d < size for d in done), "some report comes while the copy runs"
    last = calls[-1]
    assert (last.files_done, last.files_total, last.bytes_done, last.bytes_total) == (1, 1, size, size)
    assert last.scan_done
    assert all(a != b for a, b in zip(calls, calls[1:])), "no report repeats the previous one"
    assert last.as_dict() == {"files_done": 1, "files_total": 1, "bytes_done": size,
                              "bytes_total": size, "scan_done": True}


def test_blocking_upload_and_download_report_progress_in_the_calling_thread(client, base, big, tmp_path):
    calls, threads = [], set()

    def record(p):
        calls.append(p)
        threads.add(threading.get_ident())

    r = client.upload(big, f"{base}/big.bin", block_size=BLOCK, progress=record, progress_interval=0)
    assert r["bytes"] == SIZE
    check_file_reports(calls, SIZE)
    assert threads == {threading.get_ident()}
    assert client.read(f"{base}/big.bin") == big.read_bytes()

    calls.clear()
    out = tmp_path / "back.bin"
    client.download(f"{base}/big.bin", out, block_size=BLOCK, progress=record, progress_interval=0)
    check_file_reports(calls, SIZE)
    assert out.read_bytes() == big.read_bytes()


async def test_async_upload_and_download_report_progress_on_the_event_loop(aclient, base, big, tmp_path):
    calls, threads = [], set()

    def record(p):
        calls.append(p)
        threads.add(threading.get_ident())

    await aclient.upload(str(big), f"{base}/big.bin", block_size=BLOCK, progress=record,
                         progress_interval=0)
    check_file_reports(calls, SIZE)
    assert threads == {threading.get_ident()}, "called on the loop's thread"

    calls.clear()
    out = tmp_path / "back.bin"
    await aclient.download(f"{base}/big.bin", str(out), block_size=BLOCK, progress=record,
                           progress_interval=0)
    check_file_reports(calls, SIZE)
    assert out.read_bytes() == big.read_bytes()


async def test_tree_progress_counts_files(aclient, base, tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    for i in range(12):
        (src / ("sub" if i % 2 else "") / f"f{i}").write_bytes(bytes([i]) * (1000 * i))
    calls = []
    r = await aclient.upload(str(src), f"{base}/t", recursive=True, concurrency=1,
                             progress=calls.append, progress_interval=0)
    assert r["files"] == 12
    files = [p.files_done for p in calls]
    assert files == sorted(files) and any(0 < f < 12 for f in files)
    last = calls[-1]
    assert (last.files_done, last.files_total, last.bytes_done, last.bytes_total) == (
        12, 12, r["bytes"], r["bytes"])


def test_default_interval_still_reports_the_end(client, base, big):
    calls = []
    client.upload(big, f"{base}/big.bin", progress=calls.append)
    assert calls and calls[-1].bytes_done == calls[-1].bytes_total == SIZE
    assert len(calls) == len(set(map(repr, calls)))


def no_partial_file(names: list[str], read, big) -> None:
    """After a copy stopped by its callable: no temporary, and no destination unless the
    stop came so late that the copy had already renamed it into place, complete."""
    assert set(names) <= {"up.bin"}, names
    if names:
        assert read() == big.read_bytes()


def test_a_raising_callable_cancels_the_copy_and_propagates(client, base, big, tmp_path):
    baseline = client._outstanding_fids()

    def first(p):
        raise Boom("stop")

    with pytest.raises(Boom, match="stop"):
        client.upload(big, f"{base}/up.bin", block_size=BLOCK, progress=first, progress_interval=0)
    # The first report comes before any data: nothing reached the server.
    assert client.listdir(base) == []

    def midway(p):
        if p.bytes_done > 0:
            raise Boom("midway")

    with pytest.raises(Boom, match="midway"):
        client.upload(big, f"{base}/up.bin", block_size=BLOCK, progress=midway, progress_interval=0)
    no_partial_file(client.listdir(base), lambda: client.read(f"{base}/up.bin"), big)
    for _ in range(100):  # the dropped copy's handles are released in the background
        if client._outstanding_fids() <= baseline:
            break
        time.sleep(0.05)
    assert client._outstanding_fids() <= baseline

    client.write(f"{base}/src.bin", big.read_bytes())
    with pytest.raises(Boom):
        client.download(f"{base}/src.bin", tmp_path / "up.bin", block_size=BLOCK,
                        progress=midway, progress_interval=0)
    no_partial_file(sorted(set(os.listdir(tmp_path)) - {"big.bin"}),
                    lambda: (tmp_path / "up.bin").read_bytes(), big)
    # The client is fine afterwards.
    assert client.upload(big, f"{base}/ok.bin")["bytes"] == SIZE


async def test_a_raising_callable_on_the_event_loop(aclient, base, big):
    def midway(p):
        if p.bytes_done > 0:
            raise Boom("async")

    with pytest.raises(Boom, match="async"):
        await aclient.upload(str(big), f"{base}/up.bin", block_size=BLOCK, progress=midway,
                             progress_interval=0)
    data = await aclient.read(f"{base}/up.bin") if await aclient.exists(f"{base}/up.bin") else b""
    no_partial_file(await aclient.listdir(base), lambda: data, big)
    r = await aclient.upload(str(big), f"{base}/up.bin", progress=lambda p: None)
    assert r["bytes"] == SIZE


async def test_cancelling_a_reporting_copy(server, aclient, base, big):
    mem = server.need_mem()
    calls = []
    mem.set_reply_delay(0.05)
    try:
        task = asyncio.create_task(aclient.upload(str(big), f"{base}/up.bin", block_size=BLOCK,
                                                  progress=calls.append, progress_interval=0))
        for _ in range(200):  # until the first report (bounded)
            if calls:
                break
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        mem.set_reply_delay(None)
    assert calls and calls[-1].bytes_done < SIZE
    for _ in range(100):  # the engine removes the temporary in the background (bounded)
        names = await aclient.listdir(base)
        if not names:
            break
        await asyncio.sleep(0.05)
    assert names == []


def test_bad_arguments(client, base, big):
    with pytest.raises(TypeError):
        client.upload(big, f"{base}/x", progress=3)
    with pytest.raises(ValueError):
        client.upload(big, f"{base}/x", progress=print, progress_interval=-1)
    with pytest.raises(ValueError):
        client.upload(big, f"{base}/x", progress=print, progress_interval=float("nan"))
    assert client.listdir(base) == []


class Recording(Callback):
    """Records (size, value) at every update fsspec's Callback API makes."""

    def __init__(self):
        super().__init__()
        self.seen: list[tuple[int | None, int]] = []

    def call(self, *args, **kwargs):
        self.seen.append((self.size, self.value))


def check_callback(cb: Recording, total: int) -> None:
    values = [v for _, v in cb.seen]
    assert values == sorted(values), cb.seen
    assert any(0 < v < total for v in values), "the callback moves while the copy runs"
    assert (cb.size, cb.value) == (total, total)
    assert cb.seen[-1] == (total, total)


@pytest.fixture
def fs(server):
    return ZeroFsFileSystem(target=server.target, skip_instance_cache=True, **server.options)


def test_fsspec_put_file_and_get_file_move_the_callback(fs, client, base, big, tmp_path):
    cb = Recording()
    fs.put_file(str(big), f"{base}/new/big.bin", callback=cb, block_size=BLOCK, progress_interval=0)
    check_callback(cb, SIZE)
    assert client.read(f"{base}/new/big.bin") == big.read_bytes()

    cb = Recording()
    out = tmp_path / "back.bin"
    fs.get_file(f"{base}/new/big.bin", str(out), callback=cb, block_size=BLOCK, progress_interval=0)
    check_callback(cb, SIZE)
    assert out.read_bytes() == big.read_bytes()


def test_fsspec_put_and_get_of_a_tree_move_the_callback_per_file(fs, client, base, tmp_path):
    src, back = tmp_path / "src", tmp_path / "back"
    src.mkdir()
    for i in range(10):
        (src / f"f{i}").write_bytes(bytes([i]) * 5000)
    cb = Recording()
    fs.put(str(src), f"{base}/t", recursive=True, callback=cb, concurrency=1, progress_interval=0)
    check_callback(cb, 10)
    cb = Recording()
    fs.get(f"{base}/t", str(back), recursive=True, callback=cb, concurrency=1, progress_interval=0)
    check_callback(cb, 10)
    assert sorted(os.listdir(back)) == sorted(os.listdir(src))


def test_fsspec_put_of_a_file_list_branches_per_file(fs, client, base, big, tmp_path):
    """A list of files takes fsspec's own put: its callback counts files and each file's
    branched callback moves with the bytes of that file."""
    small = tmp_path / "small.bin"
    small.write_bytes(b"s" * 1000)
    children: list[Recording] = []

    class Parent(Recording):
        def branched(self, path_1, path_2, **kwargs):
            child = Recording()
            children.append(child)
            return child

    cb = Parent()
    fs.put([str(big), str(small)], f"{base}/l/", callback=cb, block_size=BLOCK, progress_interval=0)
    assert (cb.size, cb.value) == (2, 2)
    by_size = {c.size: c for c in children}
    assert set(by_size) == {SIZE, 1000}
    check_callback(by_size[SIZE], SIZE)
    assert client.read(f"{base}/l/small.bin") == small.read_bytes()
