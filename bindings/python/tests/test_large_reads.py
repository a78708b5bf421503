"""Large reads (from 8 MiB on) come back through a faster copy into Python memory: they must
still be ordinary, exact, immutable `bytes`, on every path that returns data, at the size
boundary and past it."""

from __future__ import annotations

import os

import pytest

# The size from which the fast path is taken (bindings/python/src/large.rs: LARGE).
LARGE = 8 << 20


@pytest.fixture(scope="module")
def payload():
    return os.urandom(LARGE + (5 << 20) + 3)


@pytest.mark.parametrize("size", [LARGE - 1, LARGE, LARGE + 1, LARGE + (5 << 20) + 3])
def test_whole_reads_are_exact_bytes(client, base, payload, size):
    data = payload[:size]
    client.write(f"{base}/f", data)
    got = client.read(f"{base}/f")
    assert type(got) is bytes
    assert len(got) == size and got == data
    assert hash(got) == hash(data)


def test_ranges_and_file_reads_take_the_same_path(client, base, payload):
    client.write(f"{base}/f", payload)
    assert client.read_range(f"{base}/f", 3, LARGE + 10) == payload[3:LARGE + 13]
    with client.open(f"{base}/f") as f:
        f.seek(1)
        head = f.read(LARGE + 1)
        assert type(head) is bytes and head == payload[1:LARGE + 2]
        assert f.read() == payload[LARGE + 2:]


async def test_async_reads_are_exact_and_independent(aclient, base, payload):
    await aclient.write(f"{base}/f", payload)
    first, second = await aclient.read(f"{base}/f"), await aclient.read(f"{base}/f")
    assert first == payload and second == payload
    assert first is not second
    # A later write changes neither result (each read owns its memory).
    await aclient.write(f"{base}/f", b"x" * len(payload))
    assert first == payload
