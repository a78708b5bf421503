"""Client (blocking): the same operations for scripts, and use from many threads."""

from __future__ import annotations

import os
import threading

import pytest

from zerofs9p import Client, File
from zerofs9p.testing import MemServer


def test_blocking_roundtrip(client, base):
    p = f"{base}/x"
    client.write(p, b"hello")
    assert client.read(p) == b"hello"
    assert client.append(p, b"!") == 5
    assert client.read_range(p, 1, 3) == b"ell"
    assert client.stat(p).st_size == 6
    assert client.exists(p)
    client.mkdir(f"{base}/a/b", parents=True)
    assert sorted(client.listdir(base)) == ["a", "x"]
    assert {e.name for e in client.scandir(base)} == {"a", "x"}
    client.rename(p, f"{base}/a/y")
    client.symlink("a/y", f"{base}/l")
    assert client.readlink(f"{base}/l") == "a/y"
    client.rm(f"{base}/l")
    client.rmtree(f"{base}/a")
    assert client.listdir(base) == []


def test_blocking_file(client, base):
    p = f"{base}/f"
    with client.open(p, "wb") as f:
        assert isinstance(f, File)
        f.write(b"1\n2\n3\n")
    with client.open(p) as f:
        assert list(f) == [b"1\n", b"2\n", b"3\n"]
        f.seek(2)
        assert f.read(2) == b"2\n"
        buf = bytearray(4)
        assert f.readinto(buf) == 2 and buf[:2] == b"3\n"
        assert f.read_at(0, 1) == b"1"
    with client.open(p, "r+b") as f:
        assert f.write_at(0, b"9") == 1
    assert client.read(p) == b"9\n2\n3\n"


def test_blocking_errors(client, base):
    with pytest.raises(FileNotFoundError) as e:
        client.stat(f"{base}/nope")
    assert e.value.errno == 2 and e.value.filename == f"{base}/nope"
    with pytest.raises(IsADirectoryError):
        client.read(base)


def test_threads_share_one_client(client, base):
    errors = []

    def worker(i: int) -> None:
        try:
            for j in range(20):
                p = f"{base}/t{i}-{j}"
                data = os.urandom(100 + j)
                client.write(p, data)
                assert client.read(p) == data
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert len(client.listdir(base)) == 160


def test_to_async_shares_the_connection(client, base):
    import asyncio

    ac = client.to_async()

    async def go():
        await ac.write(f"{base}/s", b"shared")
        return await ac.read(f"{base}/s")

    assert asyncio.run(go()) == b"shared"
    assert client.read(f"{base}/s") == b"shared"


def test_reconnects_after_the_connection_drops(server, client, base):
    mem = server.need_mem()
    client.write(f"{base}/r", b"before")
    mem.drop_connections()
    assert client.read(f"{base}/r") == b"before"


@pytest.mark.parametrize("generation", MemServer.GENERATIONS)
def test_memserver_every_generation_and_unix(generation):
    with MemServer(generation, unix=True) as s:
        assert s.target.startswith("unix:") and s.generation == generation
        with Client.connect(s.target) as c:
            c.write("/u", b"unix")
            assert c.read("/u") == b"unix"
            caps = c.capabilities
            assert caps["extensions_v2"] == (generation in ("gen2", "z"))
    with pytest.raises(ValueError):
        MemServer("nonsense")


def test_closed_client(server):
    c = Client.connect(server.target, **server.options)
    c.close()
    with pytest.raises(OSError) as e:
        c.listdir("/")
    assert e.value.errno == 9


def test_ctrl_c_interrupts_a_blocking_call(server, client, base):
    import signal
    import time

    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals are delivered to the main thread")
    mem = server.need_mem()
    mem.set_reply_delay(5.0)
    timer = threading.Timer(0.3, lambda: signal.raise_signal(signal.SIGINT))
    started = time.monotonic()
    try:
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            client.stat(base)
    finally:
        timer.cancel()
        mem.set_reply_delay(None)
    assert time.monotonic() - started < 3.0
    assert client.stat(base).is_dir()
