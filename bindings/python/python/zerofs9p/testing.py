"""Test helpers: ``MemServer``, the in-memory 9P server, started from Python.

    >>> from zerofs9p.testing import MemServer
    >>> with MemServer("plain") as server:   # or "gen1", "gen2", "z" (default)
    ...     server.target.startswith("tcp://127.0.0.1:")
    True

No server needs to be installed: it runs inside this process on the client's runtime.
"""

from ._native import MemServer

GENERATIONS = MemServer.GENERATIONS

__all__ = ["MemServer", "GENERATIONS"]
