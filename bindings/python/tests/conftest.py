"""Fixtures: a server per generation (the in-memory MemServer by default; an external
server when ZEROFS9P_TARGET is set, as the interop step does for diod and ZeroFS 0.19.1), and
a fresh directory per test, so tests never see each other's files."""

from __future__ import annotations

import os
import uuid

import pytest

from zerofs9p import AsyncClient, Client
from zerofs9p.testing import GENERATIONS, MemServer

EXTERNAL = os.environ.get("ZEROFS9P_TARGET")
EXTERNAL_ANAME = os.environ.get("ZEROFS9P_ANAME", "")
# ZEROFS9P_GENERATIONS="plain,z" narrows the MemServer generations.
SELECTED = [g for g in os.environ.get("ZEROFS9P_GENERATIONS", ",".join(GENERATIONS)).split(",") if g]


class Server:
    """The server under test: `target`, `options` (connect keywords), `url` (the
    zerofs:// prefix, or None where URLs cannot reach it), `generation`, and `mem` (the
    MemServer, None for an external server)."""

    def __init__(self, target: str, generation: str, aname: str = "", mem: MemServer | None = None):
        self.target = target
        self.generation = generation
        self.mem = mem
        self.options = {"aname": aname} if aname else {}
        host_port = target[len("tcp://"):] if target.startswith("tcp://") else target
        unix = target.startswith(("unix:", "/"))
        # A URL carries no export name: servers that need one are reached by target only.
        self.url = None if unix or aname else f"zerofs://{host_port}"

    def need_mem(self) -> MemServer:
        if self.mem is None:
            pytest.skip("needs the in-memory server (fault injection)")
        return self.mem


@pytest.fixture(scope="session", params=["external"] if EXTERNAL else SELECTED)
def server(request):
    if EXTERNAL:
        yield Server(EXTERNAL, "external", EXTERNAL_ANAME)
        return
    with MemServer(request.param) as s:
        yield Server(s.target, s.generation, mem=s)


@pytest.fixture(scope="session")
def admin(server):
    """One blocking client per server for fixtures (few connections: diod's unix socket
    refuses bursts of dials with EAGAIN)."""
    with Client.connect(server.target, **server.options) as c:
        yield c


@pytest.fixture(scope="session")
def session_fs(server):
    """One fsspec filesystem (one connection) per server, shared by the fsspec tests."""
    from zerofs9p.fsspec import ZeroFsFileSystem

    return ZeroFsFileSystem(target=server.target, skip_instance_cache=True, **server.options)


@pytest.fixture
def base(server, admin) -> str:
    """A fresh directory for one test (removed afterwards)."""
    path = f"/t-{uuid.uuid4().hex[:12]}"
    admin.mkdir(path)
    yield path
    try:
        admin.rmtree(path)
    except FileNotFoundError:
        pass


@pytest.fixture
def client(server):
    with Client.connect(server.target, **server.options) as c:
        yield c


@pytest.fixture
async def aclient(server):
    async with await AsyncClient.connect(server.target, **server.options) as c:
        yield c
