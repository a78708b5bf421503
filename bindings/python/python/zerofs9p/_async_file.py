"""``ZeroFsAsyncFile``: the async file object ``ZeroFsFileSystem.open_async`` returns
(fsspec's ``AbstractAsyncStreamedFile`` over the native ``AsyncFile`` handle)."""

from __future__ import annotations

import errno
import os
from typing import TYPE_CHECKING, Any

from fsspec.asyn import AbstractAsyncStreamedFile

if TYPE_CHECKING:
    from ._native import AsyncFile
    from .fsspec import ZeroFsFileSystem

# The modes open_async takes: fsspec's binary modes.
ASYNC_MODES = ("rb", "wb", "ab", "xb")
_WRITE_MODES = ("wb", "ab", "xb")
# The largest range one positioned read asks for.
_MAX_RANGE = (1 << 32) - 1


class ZeroFsAsyncFile(AbstractAsyncStreamedFile):
    """An async binary file on a ZeroFS server, from ``await fs.open_async(path, mode)``.

    Reading (``"rb"``): ``await f.read(n)`` (``-1``: to the end; empty at or past the end)
    is one positioned, pipelined read at the position; ``f.seek()``/``f.tell()`` move it.
    The size is the file's when it was opened. Writing (``"wb"`` truncates or creates,
    ``"ab"`` appends, ``"xb"`` creates exclusively, all at open time): ``await f.write(b)``
    buffers and sends every ``block_size`` bytes (default 5 MiB) as one positioned write;
    ``await f.flush()`` sends what is buffered; ``await f.close()`` (or leaving
    ``async with``) flushes and releases the handle. A file that is never closed loses its
    buffered bytes (the garbage collector cannot await a flush); its handle is released."""

    fs: ZeroFsFileSystem

    def __init__(
        self,
        fs: ZeroFsFileSystem,
        path: str,
        mode: str,
        handle: AsyncFile,
        size: int | None = None,
        block_size: int | None = None,
        **kwargs: Any,
    ) -> None:
        self._h: AsyncFile | None = handle
        # Where writes start: the end of the file when appending, else 0.
        self._base = handle.tell()
        kwargs.setdefault("cache_type", "none")
        super().__init__(
            fs, path, mode=mode, block_size=block_size or "default", size=size, **kwargs
        )

    def _handle(self) -> AsyncFile:
        if self._h is None:
            raise ValueError("I/O operation on closed file.")
        return self._h

    async def _fetch_range(self, start: int, end: int) -> bytes:
        if end <= start:
            return b""
        return await self._handle().read_at(start, min(end - start, _MAX_RANGE))

    async def readinto(self, b: Any) -> int:
        """Reads up to ``len(b)`` bytes into the writable buffer ``b``; returns how many."""
        view = memoryview(b).cast("B")
        data = await self.read(len(view))
        view[: len(data)] = data
        return len(data)

    async def write(self, data: Any) -> int:
        """Buffers ``data`` (any bytes-like object); sends the buffer once it holds
        ``block_size`` bytes. Returns the number of bytes taken."""
        if self.mode not in _WRITE_MODES:
            raise ValueError("File not in write mode")
        if self.closed:
            raise ValueError("I/O operation on closed file.")
        n = self.buffer.write(data)
        self.loc += n
        if self.buffer.tell() >= self.blocksize:
            await self.flush()
        return n

    async def flush(self, force: bool = False) -> None:
        """Sends the buffered bytes (a no-op when reading)."""
        if self.closed:
            raise ValueError("Flush on closed file")
        if self.mode not in _WRITE_MODES:
            return
        if self.offset is None:
            self.offset = 0
        if await self._upload_chunk(final=force):
            self.offset += self.buffer.tell()
            self.buffer.seek(0)
            self.buffer.truncate()

    async def _upload_chunk(self, final: bool = False) -> bool:
        data = self.buffer.getvalue()
        if data:
            await self._handle().write_at(self._base + self.offset, data)
        return True

    async def close(self) -> None:
        """Flushes buffered writes and releases the handle (idempotent)."""
        if self.closed:
            return
        try:
            if self.mode in _WRITE_MODES:
                await self.flush(force=True)
                self.fs.invalidate_cache(self.path)
                self.fs.invalidate_cache(self.fs._parent(self.path))
        finally:
            self.closed = True
            h, self._h = self._h, None
            if h is not None:
                await h.close()

    def __del__(self) -> None:
        # io.IOBase would call close(), a coroutine nobody can await here: the native
        # handle releases its fid when it is collected; unflushed bytes are dropped.
        pass


async def open_async(
    fs: ZeroFsFileSystem, path: str, mode: str, block_size: int | None, **kwargs: Any
) -> ZeroFsAsyncFile:
    """``ZeroFsFileSystem.open_async``: opens the native handle now (so a missing file, a
    directory or an existing ``"xb"`` target fails here) and wraps it."""
    if "b" not in mode or kwargs.pop("compression", None):
        raise ValueError("open_async opens binary files, uncompressed ('rb', 'wb', 'ab', 'xb')")
    if mode not in ASYNC_MODES:
        raise ValueError(f"open_async: mode must be one of {', '.join(ASYNC_MODES)}, not {mode!r}")
    path = fs._strip_protocol(path)
    c = await fs._client()
    size: int | None = None
    if mode == "rb":
        h = await c.open(path, "rb")
        try:
            st = await h.stat()
            if st.is_dir():
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
        except BaseException:
            await h.close()
            raise
        size = st.st_size
    else:
        h = await fs._with_parents(path, lambda: c.open(path, mode))
    return ZeroFsAsyncFile(fs, path, mode, h, size=size, block_size=block_size, **kwargs)
