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
# ZEROFS9P_GENERATIONS="plain,z" narrows the MemServer generations.
SELECTED = [g for g in os.environ.get("ZEROFS9P_GENERATIONS", ",".join(GENERATIONS)).split(",") if g]


class External:
    """An already running server (not stopped by the tests)."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.generation = "external"
        host_port = target[len("tcp://"):] if target.startswith("tcp://") else target
        self.url = None if target.startswith(("unix:", "/")) else f"zerofs://{host_port}"

    def set_reply_delay(self, seconds: float | None = None) -> None:
        pytest.skip("reply delays need the in-memory server")


@pytest.fixture(scope="session", params=["external"] if EXTERNAL else SELECTED)
def server(request):
    if EXTERNAL:
        yield External(EXTERNAL)
        return
    with MemServer(request.param) as s:
        yield s


@pytest.fixture
def base(server) -> str:
    """A fresh directory for one test (removed afterwards)."""
    path = f"/t-{uuid.uuid4().hex[:12]}"
    with Client.connect(server.target) as c:
        c.mkdir(path)
        yield path
        try:
            c.rmtree(path)
        except FileNotFoundError:
            pass


@pytest.fixture
def client(server):
    with Client.connect(server.target) as c:
        yield c


@pytest.fixture
async def aclient(server):
    async with await AsyncClient.connect(server.target) as c:
        yield c
