"""readinto: any writable buffer (bytearray, memoryview slices, array, numpy), sized in
bytes; the read-ahead of readline and the positioned reads after it land in order; reads
larger than one message; a read-only buffer is refused before anything is consumed."""

from __future__ import annotations

import array

import pytest


def pattern(n: int) -> bytes:
    return bytes((i * 7 + i // 251) % 256 for i in range(n))


def test_buffers_of_every_kind(client, base):
    data = pattern(10_000)
    client.write(f"{base}/f", data)
    with client.open(f"{base}/f") as f:
        buf = bytearray(100)
        assert f.readinto(buf) == 100 and bytes(buf) == data[:100]
        big = bytearray(1000)
        view = memoryview(big)[10:20]
        assert f.readinto(view) == 10 and bytes(big[10:20]) == data[100:110]
        assert big[:10] == bytes(10) and big[20:] == bytes(980), "only the slice is written"
        ints = array.array("i", [0] * 8)  # sized in bytes, not items
        assert f.readinto(ints) == 8 * ints.itemsize
        assert ints.tobytes() == data[110:110 + 8 * ints.itemsize]
        assert f.tell() == 110 + 8 * ints.itemsize


def test_numpy_array(client, base):
    np = pytest.importorskip("numpy")
    data = pattern(4096)
    client.write(f"{base}/f", data)
    arr = np.zeros(512, dtype=np.uint64)
    with client.open(f"{base}/f") as f:
        assert f.readinto(arr) == 4096
    assert arr.tobytes() == data


def test_readahead_then_positioned_reads_land_in_order(client, base):
    data = b"line one\n" + pattern(300_000)
    client.write(f"{base}/f", data)
    with client.open(f"{base}/f") as f:
        assert f.readline() == b"line one\n"  # leaves read-ahead buffered
        buf = bytearray(len(data))  # larger than one message: several reads
        assert f.readinto(buf) == len(data) - 9
        assert bytes(buf[: len(data) - 9]) == data[9:]
        assert f.readinto(buf) == 0


async def test_async_readinto_large(aclient, base):
    data = pattern(3 << 20)
    await aclient.write(f"{base}/f", data)
    buf = bytearray(len(data) + 10)
    async with await aclient.open(f"{base}/f") as f:
        assert await f.readinto(buf) == len(data)
    assert bytes(buf[: len(data)]) == data


def test_read_only_and_non_buffers_are_refused_before_reading(client, base):
    client.write(f"{base}/f", b"abcdef")
    with client.open(f"{base}/f") as f:
        with pytest.raises(TypeError):
            f.readinto(b"xxxx")
        with pytest.raises(TypeError):
            f.readinto(memoryview(bytearray(4)).toreadonly())
        with pytest.raises(TypeError):
            f.readinto("text")
        assert f.tell() == 0
        buf = bytearray(6)
        assert f.readinto(buf) == 6 and buf == b"abcdef"
