"""``ZeroFsFileSystem``: ZeroFS as an fsspec filesystem (``zerofs://host:port/path``).

Registered under the protocol ``zerofs`` through the ``fsspec.specs`` entry point, so with
this package installed::

    import fsspec, pandas
    with fsspec.open("zerofs://127.0.0.1:5564/data/x.csv", "wb") as f:
        f.write(b"a,b\\n1,2\\n")
    df = pandas.read_csv("zerofs://127.0.0.1:5564/data/x.csv")

Extra keywords (``storage_options``): ``target`` (any target ``AsyncClient.connect`` takes,
e.g. ``"unix:/run/zerofs.sock"``; overrides host and port), ``uid``, ``gid``, ``uname``,
``aname``, ``msize``, ``connect_timeout``.

Every operation goes through one connection, which pipelines concurrent requests:
``cat_ranges`` (Parquet's column-chunk reads) and bulk ``rm`` run their requests
concurrently over it. ``put``/``get`` run through the bulk transfer engine (the one the
CLI's ``cp`` uses): a recursive copy of a directory is one engine call that walks the tree
and copies many files at once, each written under a temporary name and renamed into place.
Their ``callback`` moves while the engine copies (bytes for one file, files for a tree).
``open_async`` returns async file objects (``ZeroFsAsyncFile``) for ``asynchronous=True``
filesystems.
"""

from __future__ import annotations

import asyncio
import errno
import os
import posixpath
from datetime import datetime, timezone
from glob import has_magic
from typing import Any

from fsspec.asyn import AsyncFileSystem
from fsspec.callbacks import DEFAULT_CALLBACK, NoOpCallback
from fsspec.implementations.local import make_path_posix, trailing_sep
from fsspec.spec import AbstractBufferedFile
from fsspec.utils import infer_storage_options

from ._async_file import ZeroFsAsyncFile, open_async
from ._native import AsyncClient, Client, Stat

__all__ = ["ZeroFsFileSystem", "ZeroFsFile", "ZeroFsAsyncFile"]

_CONNECT_KEYS = ("uid", "gid", "uname", "aname", "msize", "connect_timeout")
# Local <-> remote streaming granularity for get/put (the engine pipelines each piece).
_STREAM_CHUNK = 8 << 20
_MAX_RANGE = (1 << 32) - 1
# How put/get drive the bulk engine: fsspec copies bytes, not metadata (like its local
# filesystem's copies), so modes and times are the destination's defaults.
_ENGINE = {"keep_modes": False, "keep_times": False}
# Keywords of put/get/put_file/get_file handed to the engine: block size and files at once
# (the engine's defaults otherwise), and the least time between two progress reports.
_ENGINE_KEYS = ("block_size", "concurrency", "progress_interval")


def _engine(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The engine keywords for a put/get: fsspec's copy semantics plus the caller's
    ``_ENGINE_KEYS``."""
    return {**_ENGINE, **{k: kwargs[k] for k in _ENGINE_KEYS if kwargs.get(k) is not None}}


def _progress(callback: Any, unit: str) -> dict[str, Any]:
    """The ``progress`` keyword for an engine copy that moves fsspec's ``callback`` live:
    its size and value follow the engine's byte counts (``unit="bytes"``, one file's
    transfer) or file counts (``unit="files"``, a whole tree, fsspec's unit for put/get).
    Empty for no callback (or fsspec's no-op default): the copy then reports nothing."""
    if callback is None or isinstance(callback, NoOpCallback):
        return {}
    total, done = f"{unit}_total", f"{unit}_done"

    def report(p: Any) -> None:
        size = getattr(p, total)
        if callback.size != size:
            callback.set_size(size)
        callback.absolute_update(getattr(p, done))

    return {"progress": report}


def _whole_tree(src: Any, dst: Any, recursive: bool, maxdepth: Any, kwargs: dict) -> bool:
    """Whether a put/get is one plain tree copy the engine can run as a whole."""
    return (
        recursive
        and maxdepth is None
        and isinstance(src, str)
        and isinstance(dst, str)
        and not has_magic(src)
        and kwargs.get("mode", "overwrite") == "overwrite"
    )


def _info(path: str, st: Stat) -> dict[str, Any]:
    kind = st.type if st.type in ("file", "directory") else "other"
    return {
        "name": path,
        "size": st.st_size,
        "type": kind,
        "mode": st.st_mode,
        "ino": st.st_ino,
        "nlink": st.st_nlink,
        "uid": st.st_uid,
        "gid": st.st_gid,
        "mtime": st.st_mtime,
        "created": st.st_birthtime or st.st_ctime,
        "islink": False,
    }


class ZeroFsFileSystem(AsyncFileSystem):
    """fsspec filesystem over a ZeroFS (or any 9P2000.L) server."""

    protocol = "zerofs"
    root_marker = "/"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int | None = None,
        *,
        target: str | None = None,
        **kwargs: Any,
    ) -> None:
        self._options = {k: kwargs.pop(k) for k in _CONNECT_KEYS if k in kwargs}
        super().__init__(**kwargs)
        if target is None:
            h = f"[{host}]" if ":" in host and not host.startswith("[") else host
            target = f"{h}:{port or 5564}"
        self.target = target
        self._aclient: AsyncClient | None = None
        self._bclient: Client | None = None

    # -- the connection ---------------------------------------------------------------

    async def _client(self) -> AsyncClient:
        if self._aclient is None:
            c = await AsyncClient.connect(self.target, **self._options)
            if self._aclient is None:
                self._aclient, self._bclient = c, c.to_blocking()
        return self._aclient

    def _blocking(self) -> Client:
        """The blocking client (for file objects, which run in the caller's thread)."""
        if self._bclient is None:
            c = Client.connect(self.target, **self._options)
            if self._bclient is None:
                self._bclient, self._aclient = c, c.to_async()
        return self._bclient

    # -- paths ------------------------------------------------------------------------

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        path = str(path)
        if path.startswith("zerofs://"):
            path = infer_storage_options(path)["path"]
        if not path.startswith("/"):
            path = "/" + path
        return path.rstrip("/") or "/"

    @staticmethod
    def _get_kwargs_from_urls(urlpath: str) -> dict[str, Any]:
        o = infer_storage_options(urlpath)
        out: dict[str, Any] = {}
        if o.get("host"):
            out["host"] = o["host"]
        if o.get("port"):
            out["port"] = int(o["port"])
        return out

    def unstrip_protocol(self, name: str) -> str:
        return f"zerofs://{self.target}{name}"

    # -- metadata ---------------------------------------------------------------------

    async def _info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        path = self._strip_protocol(path)
        c = await self._client()
        st = await c.stat(path, follow_symlinks=False)
        if st.type != "symlink":
            return _info(path, st)
        try:
            out = _info(path, await c.stat(path))
        except FileNotFoundError:
            out = _info(path, st)
        out["islink"] = True
        return out

    async def _ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        path = self._strip_protocol(path)
        c = await self._client()
        try:
            entries = [e async for e in c.scandir(path)]
        except NotADirectoryError:
            info = await self._info(path)
            return [info] if detail else [path]
        prefix = path.rstrip("/")
        names = [f"{prefix}/{e.name}" for e in entries]
        if not detail:
            return sorted(names)

        async def one(name: str, e: Any) -> dict[str, Any]:
            if e.stat is not None and e.type != "symlink":
                return _info(name, e.stat)
            return await self._info(name)

        infos = await asyncio.gather(*(one(n, e) for n, e in zip(names, entries)))
        return sorted(infos, key=lambda i: i["name"])

    async def _exists(self, path: str, **kwargs: Any) -> bool:
        c = await self._client()
        try:
            return await c.exists(self._strip_protocol(path))
        except NotADirectoryError:
            return False

    def modified(self, path: str) -> datetime:
        return datetime.fromtimestamp(self.info(path)["mtime"], tz=timezone.utc)

    def created(self, path: str) -> datetime:
        return datetime.fromtimestamp(self.info(path)["created"], tz=timezone.utc)

    # -- data -------------------------------------------------------------------------

    async def _cat_file(
        self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any
    ) -> bytes:
        path = self._strip_protocol(path)
        c = await self._client()
        if start is None and end is None:
            return await c.read(path)
        if (start is not None and start < 0) or end is None or end < 0:
            size = (await c.stat(path)).st_size
            start = 0 if start is None else (max(size + start, 0) if start < 0 else start)
            end = size if end is None else (max(size + end, 0) if end < 0 else end)
        start = start or 0
        if end <= start:
            return b""
        return await c.read_range(path, start, min(end - start, _MAX_RANGE))

    async def _cat_ranges(
        self,
        paths: list[str],
        starts: Any,
        ends: Any,
        max_gap: Any = None,
        batch_size: Any = None,
        on_error: str = "return",
        **kwargs: Any,
    ) -> list[Any]:
        """Every range at once: each file is opened once and its ranges are positioned
        reads on that handle, all in flight together on the one connection (Parquet reads
        its column chunks this way)."""
        n = len(paths)
        if isinstance(starts, int) or starts is None:
            starts = [starts] * n
        if isinstance(ends, int) or ends is None:
            ends = [ends] * n
        if len(starts) != n or len(ends) != n:
            raise ValueError("paths, starts and ends must have the same length")
        if any(s is None or s < 0 for s in starts) or any(e is None or e < 0 for e in ends):
            return await super()._cat_ranges(
                paths, starts, ends, max_gap=max_gap, batch_size=batch_size, on_error=on_error
            )
        c = await self._client()
        stripped = [self._strip_protocol(p) for p in paths]
        handles: dict[str, Any] = {}

        async def open_one(path: str) -> None:
            try:
                handles[path] = await c.open(path, "rb")
            except OSError as e:
                handles[path] = e

        await asyncio.gather(*(open_one(p) for p in set(stripped)))

        async def one(path: str, start: int, end: int) -> Any:
            h = handles[path]
            if isinstance(h, BaseException):
                raise h
            if end <= start:
                return b""
            return await h.read_at(start, min(end - start, _MAX_RANGE))

        try:
            out = await asyncio.gather(
                *(one(p, s, e) for p, s, e in zip(stripped, starts, ends)),
                return_exceptions=on_error == "return",
            )
        finally:
            await asyncio.gather(
                *(h.close() for h in handles.values() if not isinstance(h, BaseException))
            )
        return list(out)

    async def _with_parents(self, path: str, op: Any) -> Any:
        """Runs `op()`; if the parent directory is missing, creates it and runs it again."""
        try:
            return await op()
        except FileNotFoundError:
            parent = self._parent(path)
            if parent in ("", "/"):
                raise
            c = await self._client()
            await c.mkdir(parent, parents=True, exist_ok=True)
            return await op()

    async def _pipe_file(
        self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any
    ) -> None:
        path = self._strip_protocol(path)
        c = await self._client()

        async def write() -> None:
            if mode == "create":
                f = await c.open(path, "xb")
                try:
                    await f.write(value)
                finally:
                    await f.close()
            else:
                await c.write(path, value)

        await self._with_parents(path, write)

    async def _put_file(
        self, lpath: str, rpath: str, callback: Any = None, mode: str = "overwrite", **kwargs: Any
    ) -> None:
        rpath = self._strip_protocol(rpath)
        c = await self._client()
        if os.path.isdir(lpath):
            await c.mkdir(rpath, parents=True, exist_ok=True)
            return
        size = os.path.getsize(lpath)  # a missing source fails here, before any remote change
        if callback is not None:
            callback.set_size(size)
        if mode == "create":
            await self._put_file_exclusive(c, lpath, rpath, callback)
            return
        # The bulk engine: pipelined blocks, written under a temporary name and renamed
        # into place (an interrupted put leaves no partial file). It copies a symlink as a
        # link; one file's put copies what the link points to, as fsspec does.
        src = os.path.realpath(lpath) if os.path.islink(lpath) else lpath
        live = _progress(callback, "bytes")
        engine = {**_engine(kwargs), **live}
        report = await self._with_parents(rpath, lambda: c.upload(src, rpath, **engine))
        if callback is not None:
            callback.absolute_update(report["bytes"])

    async def _put_file_exclusive(
        self, c: AsyncClient, lpath: str, rpath: str, callback: Any
    ) -> None:
        """``mode="create"``: the destination is created exclusively (the engine's rename
        would replace an existing file)."""
        f = await self._with_parents(rpath, lambda: c.open(rpath, "xb"))
        try:
            with open(lpath, "rb") as local:
                while True:
                    chunk = local.read(_STREAM_CHUNK)
                    if not chunk:
                        break
                    await f.write(chunk)
                    if callback is not None:
                        callback.relative_update(len(chunk))
        finally:
            await f.close()

    async def _get_file(self, rpath: str, lpath: str, callback: Any = None, **kwargs: Any) -> None:
        rpath = self._strip_protocol(rpath)
        if os.path.isdir(lpath):
            return
        c = await self._client()
        live = _progress(callback, "bytes")
        try:
            report = await c.download(rpath, lpath, **_engine(kwargs), **live)
        except IsADirectoryError:
            if not (await c.stat(rpath)).is_dir():
                raise
            os.makedirs(lpath, exist_ok=True)
            return
        if os.path.islink(lpath):
            # The engine recreated a server symlink as a link; one file's get copies what
            # it points to, as fsspec does (checked locally: no round trip for plain files).
            os.unlink(lpath)
            report = await c.download(await c.realpath(rpath), lpath, **_engine(kwargs), **live)
        if callback is not None:
            callback.set_size(report["bytes"])
            callback.absolute_update(report["bytes"])

    async def _put(
        self,
        lpath: Any,
        rpath: Any,
        recursive: bool = False,
        callback: Any = DEFAULT_CALLBACK,
        maxdepth: int | None = None,
        **kwargs: Any,
    ) -> Any:
        """fsspec's ``put``; a whole local directory (``recursive=True``, no glob, no
        ``maxdepth``) goes in one call of the bulk engine, which walks the tree and copies
        many files at once."""
        if _whole_tree(lpath, rpath, recursive, maxdepth, kwargs) and os.path.isdir(lpath):
            dest = self._strip_protocol(rpath)
            if not trailing_sep(lpath) and (trailing_sep(rpath) or await self._isdir(dest)):
                dest = posixpath.join(dest, os.path.basename(lpath.rstrip("/")))
            c = await self._client()
            parent = self._parent(dest)
            if parent not in ("", "/"):
                await c.mkdir(parent, parents=True, exist_ok=True)
            live = _progress(callback, "files")
            report = await c.upload(lpath, dest, recursive=True, **_engine(kwargs), **live)
            callback.set_size(report["files"])
            callback.absolute_update(report["files"])
            return None
        return await super()._put(
            lpath, rpath, recursive=recursive, callback=callback, maxdepth=maxdepth, **kwargs
        )

    async def _get(
        self,
        rpath: Any,
        lpath: Any,
        recursive: bool = False,
        callback: Any = DEFAULT_CALLBACK,
        maxdepth: int | None = None,
        **kwargs: Any,
    ) -> Any:
        """fsspec's ``get``; a whole server directory (``recursive=True``, no glob, no
        ``maxdepth``) comes in one call of the bulk engine."""
        if _whole_tree(rpath, lpath, recursive, maxdepth, kwargs) and await self._isdir(rpath):
            lpath = make_path_posix(lpath)
            dest = lpath.rstrip("/") or "/"
            if not trailing_sep(rpath) and (trailing_sep(lpath) or os.path.isdir(dest)):
                src_name = posixpath.basename(self._strip_protocol(rpath))
                dest = posixpath.join(dest, src_name)
            os.makedirs(os.path.dirname(dest) or ".", exist_ok=True)
            c = await self._client()
            live = _progress(callback, "files")
            report = await c.download(
                self._strip_protocol(rpath), dest, recursive=True, **_engine(kwargs), **live
            )
            callback.set_size(report["files"])
            callback.absolute_update(report["files"])
            return None
        return await super()._get(
            rpath, lpath, recursive=recursive, callback=callback, maxdepth=maxdepth, **kwargs
        )

    async def _cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        path1, path2 = self._strip_protocol(path1), self._strip_protocol(path2)
        c = await self._client()
        if (await c.stat(path1)).is_dir():
            await c.mkdir(path2, parents=True, exist_ok=True)
            return
        data = await c.read(path1)
        await self._with_parents(path2, lambda: c.write(path2, data))

    async def _mv_file(self, path1: str, path2: str) -> None:
        path1, path2 = self._strip_protocol(path1), self._strip_protocol(path2)
        c = await self._client()
        await self._with_parents(path2, lambda: c.rename(path1, path2))

    # -- namespace --------------------------------------------------------------------

    async def _mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        path = self._strip_protocol(path)
        c = await self._client()
        await c.mkdir(path, parents=create_parents, exist_ok=False)

    async def _makedirs(self, path: str, exist_ok: bool = False) -> None:
        path = self._strip_protocol(path)
        c = await self._client()
        await c.mkdir(path, parents=True, exist_ok=exist_ok)

    async def _rmdir(self, path: str) -> None:
        c = await self._client()
        await c.rmdir(self._strip_protocol(path))

    async def _rm_file(self, path: str, **kwargs: Any) -> None:
        c = await self._client()
        await c.rm(self._strip_protocol(path))

    async def _rm_one(self, path: str) -> None:
        c = await self._client()
        try:
            await c.rm(path)
        except OSError as e:
            if e.errno not in (errno.EISDIR, errno.EPERM, errno.EACCES):
                raise
            if not (await c.stat(path, follow_symlinks=False)).is_dir():
                raise
            await c.rmdir(path)

    async def _rm(
        self, path: Any, recursive: bool = False, maxdepth: int | None = None, **kwargs: Any
    ) -> None:
        c = await self._client()
        if (
            recursive
            and maxdepth is None
            and isinstance(path, str)
            and not any(ch in path for ch in "*?[")
        ):
            p = self._strip_protocol(path)
            st = await c.stat(p, follow_symlinks=False)
            if st.is_dir():
                await c.rmtree(p)
            else:
                await c.rm(p)
            return
        paths = await self._expand_path(path, recursive=recursive, maxdepth=maxdepth)
        # Deepest first, each level concurrently (children go before their directories).
        levels: dict[int, list[str]] = {}
        for p in paths:
            levels.setdefault(p.rstrip("/").count("/"), []).append(p)
        for depth in sorted(levels, reverse=True):
            await asyncio.gather(*(self._rm_one(p) for p in levels[depth]))

    # -- files ------------------------------------------------------------------------

    async def open_async(
        self, path: str, mode: str = "rb", block_size: int | None = None, **kwargs: Any
    ) -> ZeroFsAsyncFile:
        """An async file (``ZeroFsAsyncFile``): ``async with await fs.open_async(p) as f:
        data = await f.read(n)``. Modes ``"rb"``, ``"wb"``, ``"ab"``, ``"xb"``; a missing
        file raises ``FileNotFoundError`` here, as do ``IsADirectoryError`` (a directory)
        and ``FileExistsError`` (``"xb"`` on an existing path); writing modes create
        missing parent directories. ``block_size``: bytes buffered per write request
        (default 5 MiB)."""
        return await open_async(self, path, mode, block_size, **kwargs)

    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | None = None,
        autocommit: bool = True,
        cache_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> ZeroFsFile:
        return ZeroFsFile(
            self,
            self._strip_protocol(path),
            mode=mode,
            block_size=block_size or "default",
            autocommit=autocommit,
            cache_options=cache_options,
            **kwargs,
        )


class ZeroFsFile(AbstractBufferedFile):
    """A buffered fsspec file: reads fetch ranges with positioned reads, writes upload each
    full block with one positioned, pipelined write."""

    fs: ZeroFsFileSystem

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._h = None
        super().__init__(*args, **kwargs)
        if self.mode != "rb":
            # Open (create, truncate, or fail as "xb" must) now, not at the first flush.
            try:
                self._handle()
            except BaseException:
                self.closed = True  # nothing to flush when the object is collected
                raise

    def _handle(self) -> Any:
        h = self._h
        if h is None:
            c = self.fs._blocking()
            if "r" in self.mode:
                h = c.open(self.path, "rb")
            else:
                try:
                    h = c.open(self.path, self.mode)
                except FileNotFoundError:
                    parent = self.fs._parent(self.path)
                    if parent in ("", "/"):
                        raise
                    c.mkdir(parent, parents=True, exist_ok=True)
                    h = c.open(self.path, self.mode)
            self._h = h
            self._base = h.tell()
        return h

    def _fetch_range(self, start: int, end: int) -> bytes:
        if end <= start:
            return b""
        return self._handle().read_at(start, min(end - start, _MAX_RANGE))

    def _initiate_upload(self) -> None:
        self._handle()

    def _upload_chunk(self, final: bool = False) -> bool:
        data = self.buffer.getvalue()
        if data:
            self._handle().write_at(self._base + self.offset, data)
        return True

    def close(self) -> None:
        try:
            super().close()
        finally:
            h = getattr(self, "_h", None)
            if h is not None:
                h.close()
                self._h = None
