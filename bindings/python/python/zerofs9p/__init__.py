"""zerofs9p: an asyncio-native client for ZeroFS 9P servers (and any 9P2000.L server).

``AsyncClient`` (awaitable operations) and ``Client`` (blocking) share one Rust engine: a
pipelined, reconnecting 9P session running on a shared tokio runtime. Paths are ``str``,
``bytes`` or ``os.PathLike``; names come back as the caller's type (``bytes`` in, ``bytes``
out), and non-UTF-8 names round-trip like ``os`` does. Errors are ``OSError`` subclasses
chosen by errno (``FileNotFoundError``, ``FileExistsError``, ...) with ``filename`` set;
ZeroFS-only failures derive from ``ZeroFsError``.

    >>> from zerofs9p import Client
    >>> from zerofs9p.testing import MemServer
    >>> with MemServer() as server, Client.connect(server.target) as c:
    ...     c.write("/hello.txt", b"hi")
    ...     c.read("/hello.txt")
    b'hi'

``zerofs9p.fsspec.ZeroFsFileSystem`` is the fsspec filesystem for ``zerofs://host:port/path``
URLs (registered through the ``fsspec.specs`` entry point).
"""

from ._native import (
    AsyncClient,
    AsyncFile,
    AsyncScandir,
    Client,
    ConnectFailed,
    DirEntry,
    File,
    NotLeader,
    ProtocolError,
    Scandir,
    Stale,
    Stat,
    StatFs,
    TransferProgress,
    ZeroFsError,
)

__all__ = [
    "AsyncClient",
    "AsyncFile",
    "AsyncScandir",
    "Client",
    "ConnectFailed",
    "DirEntry",
    "File",
    "NotLeader",
    "ProtocolError",
    "Scandir",
    "Stale",
    "Stat",
    "StatFs",
    "TransferProgress",
    "ZeroFsError",
]
