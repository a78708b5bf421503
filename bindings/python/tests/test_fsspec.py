"""ZeroFsFileSystem through fsspec URLs and the data stack: pandas (CSV, Parquet), pyarrow
datasets, dask; plus the filesystem's own behaviours (info/ls fields, cat_ranges, walk,
rm, mv, append, buffered range reads)."""

from __future__ import annotations

import os

import fsspec
import pytest

from zerofs9p.fsspec import ZeroFsFileSystem


@pytest.fixture
def url(server, base):
    if server.url is None:
        pytest.skip("zerofs:// URLs need a TCP server")
    return f"{server.url}{base}"


@pytest.fixture
def zfs(session_fs):
    return session_fs


def test_protocol_is_registered_through_the_entry_point(url):
    cls = fsspec.get_filesystem_class("zerofs")
    assert cls is ZeroFsFileSystem
    with fsspec.open(f"{url}/hello.txt", "wb") as f:
        f.write(b"hello fsspec")
    with fsspec.open(f"{url}/hello.txt", "rb") as f:
        assert f.read() == b"hello fsspec"
    with fsspec.open(f"{url}/hello.txt", "rt") as f:
        assert f.read() == "hello fsspec"
    fs, path = fsspec.core.url_to_fs(f"{url}/hello.txt")
    assert isinstance(fs, ZeroFsFileSystem) and path.endswith("/hello.txt")
    assert fs.unstrip_protocol(path).startswith("zerofs://")


def test_info_and_ls_fields(zfs, base):
    zfs.pipe(f"{base}/d/a.bin", b"12345")
    zfs.mkdir(f"{base}/d/sub")
    info = zfs.info(f"{base}/d/a.bin")
    assert info["name"] == f"{base}/d/a.bin"
    assert info["size"] == 5 and info["type"] == "file"
    assert isinstance(info["mtime"], float) and info["islink"] is False
    assert zfs.info(f"{base}/d")["type"] == "directory"
    listing = zfs.ls(f"{base}/d", detail=True)
    assert [(e["name"], e["type"]) for e in listing] == [
        (f"{base}/d/a.bin", "file"),
        (f"{base}/d/sub", "directory"),
    ]
    assert zfs.ls(f"{base}/d", detail=False) == [f"{base}/d/a.bin", f"{base}/d/sub"]
    assert zfs.ls(f"{base}/d/a.bin", detail=False) == [f"{base}/d/a.bin"]
    with pytest.raises(FileNotFoundError):
        zfs.info(f"{base}/missing")
    assert not zfs.exists(f"{base}/d/a.bin/x")
    assert zfs.modified(f"{base}/d/a.bin").year >= 2020


def test_cat_ranges_and_buffered_reads(zfs, base):
    data = os.urandom(3 << 20)
    zfs.pipe(f"{base}/r.bin", data)
    paths = [f"{base}/r.bin"] * 4
    starts = [0, 100, len(data) - 10, 2 << 20]
    ends = [10, 200, len(data), (2 << 20) + 65536]
    out = zfs.cat_ranges(paths, starts, ends)
    assert out == [data[s:e] for s, e in zip(starts, ends)]
    mixed = zfs.cat_ranges([f"{base}/r.bin", f"{base}/missing"], [0, 0], [4, 4])
    assert mixed[0] == data[:4] and isinstance(mixed[1], FileNotFoundError)
    with pytest.raises(FileNotFoundError):
        zfs.cat_ranges([f"{base}/missing"], [0], [4], on_error="raise")
    assert zfs.cat_ranges([f"{base}/r.bin"], [-4], [None]) == [data[-4:]]
    assert zfs.cat_file(f"{base}/r.bin", start=-5) == data[-5:]
    assert zfs.cat_file(f"{base}/r.bin", start=10, end=-10) == data[10:-10]
    with zfs.open(f"{base}/r.bin", "rb", block_size=1 << 16) as f:
        f.seek(1 << 20)
        assert f.read(100) == data[1 << 20 : (1 << 20) + 100]
        f.seek(-7, 2)
        assert f.read() == data[-7:]


def test_walk_find_du_rm_mv(zfs, base):
    for p in ("a/1", "a/2", "a/b/3", "c"):
        zfs.pipe(f"{base}/t/{p}", p.encode())
    assert sorted(zfs.find(f"{base}/t")) == [
        f"{base}/t/{p}" for p in ("a/1", "a/2", "a/b/3", "c")
    ]
    assert zfs.du(f"{base}/t") == sum(len(p) for p in ("a/1", "a/2", "a/b/3", "c"))
    zfs.mv(f"{base}/t/c", f"{base}/t/a/c")
    assert zfs.cat(f"{base}/t/a/c") == b"c"
    zfs.rm(f"{base}/t/a", recursive=True)
    assert zfs.ls(f"{base}/t", detail=False) == []
    zfs.pipe(f"{base}/g/x1", b"1")
    zfs.pipe(f"{base}/g/x2", b"2")
    zfs.rm(f"{base}/g/x*")
    assert zfs.ls(f"{base}/g", detail=False) == []


def test_append_and_write_blocks(zfs, base):
    p = f"{base}/w.bin"
    chunk = os.urandom(1 << 20)
    with zfs.open(p, "wb", block_size=1 << 20) as f:
        for _ in range(5):
            f.write(chunk)
    assert zfs.size(p) == 5 << 20
    with zfs.open(p, "ab") as f:
        f.write(b"tail")
    assert zfs.cat_file(p, start=-4) == b"tail"
    assert zfs.cat_file(p, start=0, end=1 << 20) == chunk


def test_pandas_csv_and_parquet_roundtrip(url):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"a": range(1000), "b": [f"s{i}" for i in range(1000)], "c": [i / 7 for i in range(1000)]})
    df.to_csv(f"{url}/x.csv", index=False)
    pd.testing.assert_frame_equal(pd.read_csv(f"{url}/x.csv"), df)
    df.to_parquet(f"{url}/x.parquet")
    back = pd.read_parquet(f"{url}/x.parquet")
    pd.testing.assert_frame_equal(back, df)
    cols = pd.read_parquet(f"{url}/x.parquet", columns=["c"])
    pd.testing.assert_series_equal(cols["c"], df["c"])


def test_polars_csv_and_parquet_through_zerofs_urls(url):
    """polars' native readers and writers open only local paths and their own cloud
    schemes (a zerofs:// URL is taken for a local path); they reach fsspec for any other
    protocol in two documented ways: a file object from fsspec.open, and use_pyarrow=True
    (the URL then goes to fsspec.open). Both are exercised here."""
    pl = pytest.importorskip("polars")
    import fsspec

    df = pl.DataFrame({"a": list(range(1000)), "b": [f"s{i}" for i in range(1000)], "c": [i / 7 for i in range(1000)]})
    with fsspec.open(f"{url}/p.csv", "wb") as f:
        df.write_csv(f)
    with fsspec.open(f"{url}/p.parquet", "wb") as f:
        df.write_parquet(f)
    with fsspec.open(f"{url}/p.csv", "rb") as f:
        assert pl.read_csv(f).equals(df)
    with fsspec.open(f"{url}/p.parquet", "rb") as f:
        assert pl.read_parquet(f, columns=["a", "c"]).equals(df.select("a", "c"))
    with fsspec.open(f"{url}/p.parquet", "rb") as f:
        assert pl.scan_parquet(f).filter(pl.col("a") >= 990).collect()["b"].to_list() == [f"s{i}" for i in range(990, 1000)]
    assert pl.read_parquet(f"{url}/p.parquet", use_pyarrow=True).equals(df)
    assert pl.read_csv(f"{url}/p.csv", use_pyarrow=True).equals(df)


def test_pyarrow_dataset_through_fsspec(zfs, base):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    ds = pytest.importorskip("pyarrow.dataset")
    from pyarrow.fs import FSSpecHandler, PyFileSystem

    pafs = PyFileSystem(FSSpecHandler(zfs))
    table = pa.table({"k": [i % 3 for i in range(300)], "v": list(range(300))})
    pq.write_to_dataset(table, f"{base}/ds", partition_cols=["k"], filesystem=pafs)
    dataset = ds.dataset(f"{base}/ds", filesystem=pafs, partitioning="hive", format="parquet")
    got = dataset.to_table().sort_by("v")
    assert got.column("v").to_pylist() == list(range(300))
    assert sorted(set(got.column("k").to_pylist())) == [0, 1, 2]


def test_dask_reads_a_partitioned_parquet_dataset(url, zfs, base):
    pd = pytest.importorskip("pandas")
    dd = pytest.importorskip("dask.dataframe")
    parts = []
    for i in range(4):
        part = pd.DataFrame({"x": range(i * 100, (i + 1) * 100), "y": [i] * 100})
        part.to_parquet(f"{url}/pq/part-{i}.parquet", index=False)
        parts.append(part)
    ddf = dd.read_parquet(f"{url}/pq")
    assert ddf.npartitions >= 1
    got = ddf.compute().sort_values("x").reset_index(drop=True)
    want = pd.concat(parts).reset_index(drop=True)
    pd.testing.assert_frame_equal(got[["x", "y"]], want, check_dtype=False)
    assert int(ddf["x"].sum().compute()) == sum(range(400))
