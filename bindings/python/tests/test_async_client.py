"""AsyncClient: every operation, against every server generation."""

from __future__ import annotations

import array
import asyncio
import os
import pathlib
import stat as pystat

import pytest

from zerofs9p import AsyncClient, AsyncFile, DirEntry, Stat


async def test_write_read_roundtrip(aclient, base):
    p = f"{base}/a.bin"
    data = os.urandom(3 * 1024 * 1024 + 17)
    assert await aclient.write(p, data) is None
    assert await aclient.read(p) == data
    assert await aclient.read_range(p, 5, 10) == data[5:15]
    assert await aclient.read_range(p, len(data) - 3, 100) == data[-3:]
    assert await aclient.read_range(p, len(data) + 10, 100) == b""


async def test_write_accepts_any_buffer(aclient, base):
    p = f"{base}/buf"
    await aclient.write(p, bytearray(b"abc"))
    assert await aclient.read(p) == b"abc"
    await aclient.write(p, memoryview(b"xxdefxx")[2:5])
    assert await aclient.read(p) == b"def"
    await aclient.write(p, array.array("B", [1, 2, 3]))
    assert await aclient.read(p) == b"\x01\x02\x03"
    with pytest.raises(TypeError):
        await aclient.write(p, 5)


async def test_append_returns_offsets(aclient, base):
    p = f"{base}/log"
    assert await aclient.append(p, b"one\n") == 0
    assert await aclient.append(p, b"two\n") == 4
    assert await aclient.read(p) == b"one\ntwo\n"


async def test_stat_exists_and_types(aclient, base):
    p = f"{base}/f"
    await aclient.write(p, b"12345")
    st = await aclient.stat(p)
    assert isinstance(st, Stat)
    assert st.st_size == 5 and st.is_file() and not st.is_dir()
    assert pystat.S_ISREG(st.st_mode) and st.type == "file"
    assert st.st_mtime_ns // 1_000_000_000 == int(st.st_mtime)
    d = await aclient.stat(base)
    assert d.is_dir() and pystat.S_ISDIR(d.st_mode)
    assert await aclient.exists(p)
    assert not await aclient.exists(f"{base}/missing")


async def test_mkdir_parents_and_exist_ok(aclient, base):
    await aclient.mkdir(f"{base}/d")
    with pytest.raises(FileExistsError) as e:
        await aclient.mkdir(f"{base}/d")
    assert e.value.filename == f"{base}/d"
    await aclient.mkdir(f"{base}/d", exist_ok=True)
    with pytest.raises(FileNotFoundError):
        await aclient.mkdir(f"{base}/x/y/z")
    await aclient.mkdir(f"{base}/x/y/z", parents=True)
    assert (await aclient.stat(f"{base}/x/y/z")).is_dir()
    with pytest.raises(FileExistsError):
        await aclient.mkdir(f"{base}/x/y/z", parents=True)
    await aclient.mkdir(f"{base}/x/y/z", parents=True, exist_ok=True)
    await aclient.write(f"{base}/file", b"")
    with pytest.raises(FileExistsError):
        await aclient.mkdir(f"{base}/file", exist_ok=True)


async def test_rm_rmdir_rmtree(aclient, base):
    await aclient.mkdir(f"{base}/t/u", parents=True)
    await aclient.write(f"{base}/t/u/f", b"x")
    await aclient.write(f"{base}/t/g", b"y")
    with pytest.raises(OSError) as e:
        await aclient.rmdir(f"{base}/t")
    assert e.value.errno == 39  # ENOTEMPTY
    await aclient.rm(f"{base}/t/g")
    assert not await aclient.exists(f"{base}/t/g")
    with pytest.raises(FileNotFoundError):
        await aclient.rm(f"{base}/t/g")
    await aclient.rmtree(f"{base}/t")
    assert not await aclient.exists(f"{base}/t")
    await aclient.mkdir(f"{base}/empty")
    await aclient.rmdir(f"{base}/empty")
    assert await aclient.listdir(base) == []


async def test_rename(aclient, base):
    await aclient.write(f"{base}/a", b"A")
    await aclient.write(f"{base}/b", b"B")
    await aclient.rename(f"{base}/a", f"{base}/b")
    assert await aclient.read(f"{base}/b") == b"A"
    assert sorted(await aclient.listdir(base)) == ["b"]
    with pytest.raises(FileNotFoundError) as e:
        await aclient.rename(f"{base}/a", f"{base}/c")
    assert e.value.filename == f"{base}/a"


async def test_symlink_readlink_realpath_link(aclient, base):
    await aclient.mkdir(f"{base}/real")
    await aclient.write(f"{base}/real/f", b"data")
    await aclient.symlink(f"{base}/real", f"{base}/ln")
    assert await aclient.readlink(f"{base}/ln") == f"{base}/real"
    assert await aclient.readlink(f"{base}/ln".encode()) == f"{base}/real".encode()
    assert (await aclient.stat(f"{base}/ln", follow_symlinks=False)).is_symlink()
    assert (await aclient.lstat(f"{base}/ln")).is_symlink()
    assert (await aclient.stat(f"{base}/ln")).is_dir()
    assert await aclient.realpath(f"{base}/ln/f") == f"{base}/real/f"
    await aclient.link(f"{base}/real/f", f"{base}/hard")
    assert await aclient.read(f"{base}/hard") == b"data"
    assert (await aclient.stat(f"{base}/hard")).st_nlink == 2


async def test_chmod_truncate_statfs_sync(aclient, base):
    p = f"{base}/f"
    await aclient.write(p, b"0123456789")
    await aclient.chmod(p, 0o600)
    assert pystat.S_IMODE((await aclient.stat(p)).st_mode) == 0o600
    await aclient.truncate(p, 4)
    assert await aclient.read(p) == b"0123"
    await aclient.truncate(p, 6)
    assert await aclient.read(p) == b"0123\0\0"
    fs = await aclient.statfs()
    assert fs.block_size > 0
    await aclient.sync()


async def test_listdir_and_scandir(aclient, base):
    names = {f"n{i:03}" for i in range(150)}
    await asyncio.gather(*(aclient.write(f"{base}/{n}", n.encode()) for n in names))
    await aclient.mkdir(f"{base}/sub")
    assert set(await aclient.listdir(base)) == names | {"sub"}
    assert set(await aclient.listdir(base.encode())) == {n.encode() for n in names | {"sub"}}
    seen = {}
    async for e in aclient.scandir(base):
        assert isinstance(e, DirEntry)
        seen[e.name] = e
    assert set(seen) == names | {"sub"}
    assert seen["sub"].is_dir() and not seen["sub"].is_file()
    assert seen["n001"].is_file() and seen["n001"].path == f"{base}/n001"
    assert seen["n001"].inode() > 0
    if seen["n001"].stat is not None:  # ZeroFS dialects send attributes with the listing
        assert seen["n001"].stat.st_size == 4
    with pytest.raises(FileNotFoundError):
        async for _ in aclient.scandir(f"{base}/missing"):
            pass


async def test_paths_str_bytes_pathlike(aclient, base):
    await aclient.write(pathlib.PurePosixPath(base) / "p", b"1")
    assert await aclient.read(f"{base}/p".encode()) == b"1"
    with pytest.raises(TypeError):
        await aclient.read(5)


NON_UTF8 = b"caf\xe9-\xff.bin"


async def test_non_utf8_names_roundtrip(aclient, base):
    bpath = base.encode() + b"/" + NON_UTF8
    await aclient.write(bpath, b"latin1")
    assert await aclient.listdir(base.encode()) == [NON_UTF8]
    # As str, the name decodes with surrogateescape (like os.fsdecode) and round-trips.
    [name] = await aclient.listdir(base)
    assert name == os.fsdecode(NON_UTF8)
    assert await aclient.read(f"{base}/{name}") == b"latin1"
    entries = [e async for e in aclient.scandir(base.encode())]
    assert entries[0].name == NON_UTF8 and entries[0].path == bpath
    with pytest.raises(FileNotFoundError) as e:
        await aclient.read(base.encode() + b"/\xfe")
    assert e.value.filename == base.encode() + b"/\xfe"


async def test_error_mapping(server, aclient, base):
    await aclient.write(f"{base}/f", b"x")
    await aclient.mkdir(f"{base}/d")
    cases = [
        (aclient.read(f"{base}/nope"), FileNotFoundError, 2),
        (aclient.read(f"{base}/d"), IsADirectoryError, 21),
        (aclient.mkdir(f"{base}/f"), FileExistsError, 17),
        (aclient.listdir(f"{base}/f"), NotADirectoryError, 20),
        (aclient.rmdir(f"{base}/f"), NotADirectoryError, 20),
    ]
    if server.mem is not None:
        # (diod answers ENOENT for a walk through a file; the MemServer, like Linux, ENOTDIR.)
        cases.append((aclient.read(f"{base}/f/x"), NotADirectoryError, 20))
    for coro, exc, errno in cases:
        with pytest.raises(exc) as e:
            await coro
        assert e.value.errno == errno
        assert isinstance(e.value, OSError)
        assert e.value.filename is not None


async def test_closed_client_raises_ebadf(server):
    c = await AsyncClient.connect(server.target, **server.options)
    await c.close()
    assert c.closed
    with pytest.raises(OSError) as e:
        await c.read("/x")
    assert e.value.errno == 9
    await c.close()  # idempotent


async def test_connect_failure_is_connect_failed():
    import zerofs9p

    with pytest.raises(zerofs9p.ConnectFailed) as e:
        await AsyncClient.connect("127.0.0.1:1", connect_timeout=2)
    assert isinstance(e.value, zerofs9p.ZeroFsError) and isinstance(e.value, OSError)


async def test_capabilities_and_stats(aclient):
    caps = aclient.capabilities
    assert caps["msize"] > 4096 and caps["max_read_chunk"] > 0
    assert aclient.connected
    sent, received, ops = aclient.traffic_stats()
    assert sent > 0 and received > 0


async def test_async_file_object(aclient, base):
    p = f"{base}/lines.txt"
    async with await aclient.open(p, "wb") as f:
        assert isinstance(f, AsyncFile) and f.writable() and not f.readable()
        assert await f.write(b"alpha\nbeta\n") == 11
        assert await f.write(memoryview(b"gamma")) == 5
        assert f.tell() == 16
    assert f.closed
    async with await aclient.open(p) as f:
        assert await f.readline() == b"alpha\n"
        assert f.tell() == 6
        assert await f.read(2) == b"be"
        assert await f.seek(0) == 0
        lines = [line async for line in f]
        assert lines == [b"alpha\n", b"beta\n", b"gamma"]
        assert await f.seek(-5, os.SEEK_END) == 11
        buf = bytearray(10)
        assert await f.readinto(buf) == 5
        assert bytes(buf[:5]) == b"gamma"
        assert await f.read() == b""
        assert await f.read_at(6, 4) == b"beta"
        assert (await f.stat()).st_size == 16
    async with await aclient.open(p, "ab") as f:
        await f.write(b"\ndelta")
    assert (await aclient.read(p)).endswith(b"gamma\ndelta")
    async with await aclient.open(p, "r+b") as f:
        await f.seek(0)
        await f.write(b"ALPHA")
        assert await f.read(1) == b"\n"
        await f.truncate(5)
    assert await aclient.read(p) == b"ALPHA"
    with pytest.raises(FileExistsError):
        await aclient.open(p, "xb")
    with pytest.raises(ValueError):
        await aclient.open(p, "rt")
    with pytest.raises(OSError) as e:
        await f.read()
    assert e.value.errno == 9


async def test_large_file_read_and_write_through_file(aclient, base):
    p = f"{base}/big"
    data = os.urandom(16 * 1024 * 1024)
    async with await aclient.open(p, "wb") as f:
        await f.write(data)
    async with await aclient.open(p, "rb") as f:
        assert await f.read() == data


async def test_many_tasks_share_one_client(aclient, base):
    async def worker(i: int) -> None:
        p = f"{base}/w{i}"
        payload = os.urandom(1000 + i)
        await aclient.write(p, payload)
        assert await aclient.read(p) == payload
        assert (await aclient.stat(p)).st_size == len(payload)

    await asyncio.gather(*(worker(i) for i in range(200)))
    assert len(await aclient.listdir(base)) == 200


async def test_cancelling_a_task_cancels_the_operation(server, aclient, base):
    mem = server.need_mem()
    await aclient.write(f"{base}/f", b"x" * 100_000)
    baseline = aclient._outstanding_fids()
    mem.set_reply_delay(0.5)
    try:
        tasks = [asyncio.create_task(aclient.read(f"{base}/f")) for _ in range(20)]
        await asyncio.sleep(0.1)
        for t in tasks:
            t.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(r, asyncio.CancelledError) for r in results)
    finally:
        mem.set_reply_delay(None)
    # The dropped Rust futures release their fids: bounded wait for the clunks.
    for _ in range(100):
        if aclient._outstanding_fids() <= baseline:
            break
        await asyncio.sleep(0.05)
    assert aclient._outstanding_fids() <= baseline
    assert await aclient.read(f"{base}/f") == b"x" * 100_000


async def test_cancelled_wait_for_timeout(server, aclient, base):
    mem = server.need_mem()
    mem.set_reply_delay(1.0)
    try:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(aclient.stat(base), timeout=0.1)
    finally:
        mem.set_reply_delay(None)
    assert (await aclient.stat(base)).is_dir()
