"""``ZeroFsFileSystem.open_async``: async file objects (fsspec's AbstractAsyncStreamedFile)
over the native async handle: writes, ranged reads, end of file, errors, ``async with``."""

from __future__ import annotations

import asyncio
import os

import pytest
from fsspec.asyn import AbstractAsyncStreamedFile

from zerofs9p.fsspec import ZeroFsAsyncFile, ZeroFsFileSystem


@pytest.fixture
async def afs(server):
    """An asynchronous filesystem bound to the test's event loop."""
    return ZeroFsFileSystem(
        target=server.target, asynchronous=True, skip_instance_cache=True, **server.options
    )


async def test_write_then_read_back(afs, client, base):
    data = os.urandom(300_000)
    path = f"{base}/new/dir/a.bin"  # missing parents are created, as open() does
    f = await afs.open_async(path, "wb", block_size=100_000)
    assert isinstance(f, ZeroFsAsyncFile) and isinstance(f, AbstractAsyncStreamedFile)
    for i in range(0, len(data), 70_000):  # several writes, several flushes
        assert await f.write(data[i:i + 70_000]) == len(data[i:i + 70_000])
    assert f.tell() == len(data)
    await f.close()
    await f.close()  # idempotent
    assert f.closed
    assert client.read(path) == data
    assert await afs._cat_file(path) == data

    async with await afs.open_async(path) as r:
        assert r.size == len(data)
        assert await r.read() == data
    assert r.closed


async def test_ranged_reads_and_end_of_file(afs, client, base):
    data = bytes(range(256)) * 40  # 10,240 bytes
    client.write(f"{base}/r.bin", data)
    async with await afs.open_async(f"{base}/r.bin", "rb") as f:
        assert await f.read(10) == data[:10]
        assert await f.read(5) == data[10:15]
        assert f.tell() == 15
        assert f.seek(5000) == 5000
        assert await f.read(100) == data[5000:5100]
        f.seek(-40, 2)
        assert await f.read(100) == data[-40:]  # short at the end
        assert await f.read(100) == b""  # at the end
        assert await f.read() == b""
        f.seek(len(data) + 1000)
        assert await f.read(10) == b""  # past the end
        f.seek(100)
        buf = bytearray(50)
        assert await f.readinto(buf) == 50 and bytes(buf) == data[100:150]
        assert await f.read(0) == b""
        assert await f.read(-1) == data[150:]
        with pytest.raises(ValueError):
            await f.write(b"x")  # not in write mode


async def test_modes_append_and_exclusive(afs, client, base):
    path = f"{base}/m.bin"
    async with await afs.open_async(path, "xb") as f:
        await f.write(b"first")
    with pytest.raises(FileExistsError):
        await afs.open_async(path, "xb")
    async with await afs.open_async(path, "ab") as f:
        await f.write(b"+more")
    assert client.read(path) == b"first+more"
    async with await afs.open_async(path, "wb") as f:
        pass  # "wb" truncates at open
    assert client.read(path) == b""
    with pytest.raises(ValueError):
        await afs.open_async(path, "r")  # text mode
    with pytest.raises(ValueError):
        await afs.open_async(path, "r+b")
    with pytest.raises(ValueError):
        await afs.open_async(path, "rb", compression="gzip")


async def test_errors(afs, client, base):
    with pytest.raises(FileNotFoundError):
        await afs.open_async(f"{base}/missing")
    client.mkdir(f"{base}/d")
    with pytest.raises(IsADirectoryError):
        await afs.open_async(f"{base}/d")
    client.write(f"{base}/f", b"x")
    with pytest.raises(NotADirectoryError):
        await afs.open_async(f"{base}/f/below", "wb")
    f = await afs.open_async(f"{base}/f")
    await f.close()
    with pytest.raises(ValueError):
        await f.read()
    w = await afs.open_async(f"{base}/w", "wb")
    await w.close()
    with pytest.raises(ValueError):
        await w.write(b"late")


async def fids_back_to(c, baseline: int) -> None:
    """Closing releases the fid in the background: bounded wait for the clunk."""
    for _ in range(100):
        if c._outstanding_fids() <= baseline:
            break
        await asyncio.sleep(0.05)
    assert c._outstanding_fids() <= baseline


async def test_async_with_releases_the_handle_also_on_error(afs, client, base):
    client.write(f"{base}/h.bin", b"hello")
    c = await afs._client()
    baseline = c._outstanding_fids()
    with pytest.raises(RuntimeError):
        async with await afs.open_async(f"{base}/h.bin") as f:
            assert c._outstanding_fids() == baseline + 1
            assert await f.read(5) == b"hello"
            raise RuntimeError("inside")
    assert f.closed
    await fids_back_to(c, baseline)
    # A write buffered in an `async with` that raises is still flushed on the way out.
    with pytest.raises(RuntimeError):
        async with await afs.open_async(f"{base}/h.bin", "wb") as w:
            await w.write(b"kept")
            raise RuntimeError("inside")
    assert client.read(f"{base}/h.bin") == b"kept"
    await fids_back_to(c, baseline)


async def test_a_large_single_write(afs, client, base):
    data = os.urandom(6 << 20)  # more than the default 5 MiB block: flushed within write
    async with await afs.open_async(f"{base}/big.bin", "wb") as f:
        await f.write(data)
    assert client.read(f"{base}/big.bin") == data
