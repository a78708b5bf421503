"""upload/download through the bulk transfer engine (AsyncClient, Client), and fsspec's
put/get running on it: trees, single files, symlinks, non-UTF-8 names, errors, progress
callbacks, cancellation."""

from __future__ import annotations

import asyncio
import os

import pytest
from fsspec.callbacks import Callback

from zerofs9p.fsspec import ZeroFsFileSystem


def make_tree(root) -> dict[str, bytes]:
    """A local tree: nested files of several sizes, an empty directory, a symlink, a
    non-UTF-8 name. Returns {relative path: contents} of the regular files."""
    files = {
        "small.txt": b"hello",
        "a/zero": b"",
        "a/b/big.bin": bytes(range(256)) * 5000 + b"tail",
        "a/c.csv": b"x,y\n1,2\n",
    }
    for rel, data in files.items():
        p = os.path.join(root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
    os.makedirs(os.path.join(root, "empty"))
    with open(os.path.join(os.fsencode(root), b"raw-\xff"), "wb") as f:
        f.write(b"raw")
    os.symlink("a/c.csv", os.path.join(root, "link"))
    return files


def local_files(root) -> dict[str, bytes]:
    out = {}
    for d, _, names in os.walk(root):
        for n in names:
            p = os.path.join(d, n)
            if not os.path.islink(p):
                with open(p, "rb") as f:
                    out[os.path.relpath(p, root)] = f.read()
    return out


def remote_files(c, root: str) -> dict[str, bytes]:
    out = {}
    stack = [root]
    while stack:
        d = stack.pop()
        for e in c.scandir(d):
            p = f"{d}/{e.name}"
            if e.type == "directory":
                stack.append(p)
            elif e.type == "file":
                out[p[len(root) + 1:]] = c.read(p)
    return out


async def test_async_upload_and_download_a_tree(aclient, client, base, tmp_path):
    src, back = tmp_path / "src", tmp_path / "back"
    files = make_tree(src)
    up = await aclient.upload(str(src), f"{base}/t", recursive=True)
    assert up["files"] == len(files) + 2  # + the non-UTF-8 file + the link
    assert up["bytes"] == sum(map(len, files.values())) + 3
    got = remote_files(client, f"{base}/t")
    for rel, data in files.items():
        assert got[rel] == data
    assert client.read(f"{base}/t/".encode() + b"raw-\xff") == b"raw"
    assert client.readlink(f"{base}/t/link") == "a/c.csv"
    assert client.stat(f"{base}/t/empty").is_dir()
    assert not any("zfpart" in n for n in client.listdir(f"{base}/t")), "no temporary left"

    down = await aclient.download(f"{base}/t", str(back), recursive=True)
    assert (down["files"], down["bytes"]) == (up["files"], up["bytes"])
    assert local_files(back) == local_files(src)
    assert os.readlink(back / "link") == "a/c.csv"
    assert (back / "empty").is_dir()


def test_blocking_single_file_and_options(client, base, tmp_path):
    p = tmp_path / "one.bin"
    p.write_bytes(b"\x00" * 70_000 + b"end")
    os.chmod(p, 0o600)
    r = client.upload(p, f"{base}/one.bin", keep_modes=True, concurrency=2, block_size=65536)
    assert (r["files"], r["bytes"], r["dirs"]) == (1, 70_003, 0)
    assert client.read(f"{base}/one.bin") == p.read_bytes()
    assert client.stat(f"{base}/one.bin").st_mode & 0o777 == 0o600
    out = tmp_path / "out.bin"
    assert client.download(f"{base}/one.bin", out)["bytes"] == 70_003
    assert out.read_bytes() == p.read_bytes()


def test_errors_are_oserrors_with_errno_and_filename(client, base, tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        client.upload(str(tmp_path / "missing"), f"{base}/x")
    assert e.value.filename.endswith("missing")
    with pytest.raises(FileNotFoundError) as e:
        client.download(f"{base}/missing", str(tmp_path / "x"))
    assert e.value.filename == f"{base}/missing"
    (tmp_path / "d").mkdir()
    with pytest.raises(IsADirectoryError):
        client.upload(str(tmp_path / "d"), f"{base}/d")  # a directory needs recursive=True
    (tmp_path / "f").write_bytes(b"f")
    with pytest.raises(FileNotFoundError):
        client.upload(str(tmp_path / "f"), f"{base}/no/such/parent/f")
    with pytest.raises(TypeError):
        client.upload(3, f"{base}/f")


async def test_cancelling_an_upload_leaves_no_partial_file(server, aclient, base, tmp_path):
    mem = server.need_mem()
    src = tmp_path / "src"
    src.mkdir()
    for i in range(20):
        (src / f"f{i}").write_bytes(bytes([i]) * 200_000)
    baseline = aclient._outstanding_fids()
    mem.set_reply_delay(0.2)
    try:
        task = asyncio.create_task(aclient.upload(str(src), f"{base}/up", recursive=True))
        await asyncio.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        mem.set_reply_delay(None)
    # Temporaries of the cut copies are removed by the engine in the background; every file
    # present under its own name is complete. Bounded wait for both.
    for _ in range(100):
        names = await aclient.listdir(f"{base}/up") if await aclient.exists(f"{base}/up") else []
        if aclient._outstanding_fids() <= baseline and not any("zfpart" in n for n in names):
            break
        await asyncio.sleep(0.05)
    assert not any("zfpart" in n for n in names), names
    assert aclient._outstanding_fids() <= baseline
    for n in names:
        i = int(n[1:])
        assert await aclient.read(f"{base}/up/{n}") == bytes([i]) * 200_000


class Spy:
    """Forwards to an AsyncClient, recording upload/download calls."""

    def __init__(self, inner):
        self.inner = inner
        self.calls: list[tuple[str, dict]] = []

    def __getattr__(self, name):
        attr = getattr(self.inner, name)
        if name in ("upload", "download"):
            def record(*args, **kwargs):
                self.calls.append((name, kwargs))
                return attr(*args, **kwargs)
            return record
        return attr


@pytest.fixture
def spyfs(server):
    fs = ZeroFsFileSystem(target=server.target, skip_instance_cache=True, **server.options)
    fs.ls("/")  # connects
    spy = Spy(fs._aclient)
    fs._aclient = spy
    return fs, spy


class Count(Callback):
    def __init__(self):
        super().__init__()
        self.updates = 0

    def call(self, *args, **kwargs):
        self.updates += 1


def test_fsspec_put_and_get_of_a_tree_are_one_engine_call(spyfs, client, base, tmp_path):
    fs, spy = spyfs
    src, back = tmp_path / "src", tmp_path / "back"
    files = make_tree(src)
    cb = Count()
    fs.put(str(src), f"{base}/t", recursive=True, callback=cb)
    assert [(n, k.get("recursive")) for n, k in spy.calls] == [("upload", True)]
    assert cb.size == cb.value == len(files) + 2
    assert {k: v for k, v in remote_files(client, f"{base}/t").items() if "raw" not in k} == files
    # Into an existing directory (no trailing separator on the source): nested by name.
    fs.put(str(src), f"{base}/t", recursive=True)
    assert client.read(f"{base}/t/src/a/c.csv") == files["a/c.csv"]
    # A trailing separator copies the contents.
    fs.put(str(src) + "/", f"{base}/t2/", recursive=True)
    assert client.read(f"{base}/t2/small.txt") == b"hello"

    spy.calls.clear()
    fs.get(f"{base}/t2", str(back), recursive=True)
    assert [n for n, _ in spy.calls] == ["download"]
    assert (back / "a/b/big.bin").read_bytes() == files["a/b/big.bin"]
    fs.get(f"{base}/t2", str(back), recursive=True)  # existing destination: nested
    assert (back / "t2/small.txt").read_bytes() == b"hello"


def test_fsspec_single_files_go_through_the_engine(spyfs, client, base, tmp_path):
    fs, spy = spyfs
    p = tmp_path / "f.bin"
    p.write_bytes(b"payload" * 1000)
    fs.put_file(str(p), f"{base}/new/dir/f.bin")  # missing parents are created
    assert client.read(f"{base}/new/dir/f.bin") == p.read_bytes()
    fs.get_file(f"{base}/new/dir/f.bin", str(tmp_path / "g.bin"))
    assert (tmp_path / "g.bin").read_bytes() == p.read_bytes()
    # The first upload finds no parent; it is created and the upload runs again.
    assert [n for n, _ in spy.calls] == ["upload", "upload", "download"]
    # Symlinks: one file's put/get copies what the link points to.
    os.symlink(p, tmp_path / "l")
    fs.put_file(str(tmp_path / "l"), f"{base}/l")
    assert client.stat(f"{base}/l", follow_symlinks=False).type == "file"
    client.symlink("new/dir/f.bin", f"{base}/rl")
    fs.get_file(f"{base}/rl", str(tmp_path / "rl"))
    assert not os.path.islink(tmp_path / "rl")
    assert (tmp_path / "rl").read_bytes() == p.read_bytes()
    # mode="create" refuses an existing destination.
    with pytest.raises(FileExistsError):
        fs.put_file(str(p), f"{base}/l", mode="create")
