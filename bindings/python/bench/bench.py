"""Python-side benchmarks of zerofs9p against ZeroFS's published Python client
(`zerofs_client`, 9P2000.L.Z only: MemServer "z") and the fsspec 9P filesystem `p9fs`
(plain 9P2000.L: MemServer "plain"). Each server runs in its own process; the clients take
turns (A/B interleaved) for `--rounds` rounds and the best round is reported.

    python bench/bench.py [--rounds 3] [--small 2000] [--big-mib 256] [--entries 10000]
                          [--rust-bench PATH]

The big read is also timed with the Rust client on the same server in the same run: the
`zerofs-bench` child of `bench/` (W4, a whole-file `Client::read`), found at `--rust-bench`,
`$ZEROFS_BENCH_BIN` or the repository's `target/bench/release/zerofs-bench` (built by
`cargo xtask bench compare` or `cargo build --release --manifest-path bench/Cargo.toml
--target-dir target/bench`). Clients that are not installed are skipped. Not run in CI (numbers go to docs/BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import itertools
import os
import subprocess
import sys
import time
from pathlib import Path

from zerofs9p import AsyncClient, Client

SERVER = """
import sys, time
from zerofs9p.testing import MemServer
s = MemServer(sys.argv[1])
print(s.target, flush=True)
sys.stdin.read()
"""


def start_server(generation: str):
    p = subprocess.Popen(
        [sys.executable, "-c", SERVER, generation], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    return p, p.stdout.readline().strip()


def best(rounds, fn):
    out = []
    for _ in range(rounds):
        out.append(fn())
    return min(out)


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


# -- workloads over an async client with read/write(path, data) ------------------------


async def small_writes(c, base, n, data):
    for i in range(n):
        await c.write(f"{base}/s{i}", data)


async def small_reads(c, base, n):
    for i in range(n):
        await c.read(f"{base}/s{i}")


async def big_write(c, path, data):
    await c.write(path, data)


async def big_read(c, path):
    return await c.read(path)


def rust_bench_bin(args) -> str | None:
    """The `zerofs-bench` binary that times the Rust client, if there is one."""
    for p in (args.rust_bench, os.environ.get("ZEROFS_BENCH_BIN")):
        if p:
            return p
    built = Path(__file__).resolve().parents[3] / "target" / "bench" / "release" / "zerofs-bench"
    return str(built) if built.exists() else None


def rust_child(binary, verb, target, workload, sizes, run_id=0) -> float | None:
    """Runs one `zerofs-bench` child (`prepare` or `run`); for `run`, the timed seconds."""
    cmd = [binary, verb, "--client", "ours", "--workload", workload, "--target", target, "--sizes", sizes]
    if verb == "prepare":
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        return None
    cmd += ["--run-id", str(run_id)]
    with subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as p:
        for line in p.stdout:  # bounded: the child prints READY, then one RESULT or ERROR
            if line.strip() == "READY":
                p.stdin.write("GO\n")
                p.stdin.flush()
            elif line.startswith(("RESULT", "ERROR")):
                p.stdin.close()
                break
        p.wait(timeout=60)
    fields = dict(f.split("=", 1) for f in line.split()[1:] if "=" in f)
    if not line.startswith("RESULT"):
        raise RuntimeError(f"zerofs-bench {workload}: {line.strip()}")
    return float(fields["secs"])


def bench_rust_read(args, target, results):
    """The big read through the Rust client (the same server, the same size)."""
    binary = rust_bench_bin(args)
    if binary is None:
        print("zerofs-bench not built: the Rust client's read is skipped", file=sys.stderr)
        return
    sizes = f"big_file={args.big_mib << 20}"
    rust_child(binary, "prepare", target, "W4", sizes)
    runs = itertools.count(1)
    secs = best(args.rounds, lambda: rust_child(binary, "run", target, "W4", sizes, next(runs)))
    results.append((f"{args.big_mib} MiB read", "Rust Client::read", secs))


def run_async(coro):
    return asyncio.run(coro)


def bench_async_clients(args, results):
    srv, target = start_server("z")
    try:
        clients = {}

        async def ours():
            return await AsyncClient.connect(target)

        clients["zerofs9p"] = ours
        try:
            import zerofs_client as ref

            async def theirs():
                return await ref.Client.connect(target.replace("tcp://", ""))

            clients["zerofs_client (ZeroFS's)"] = theirs
        except ImportError:
            print("zerofs_client not installed: skipped", file=sys.stderr)

        setup = Client.connect(target)
        small = os.urandom(4096)
        big = os.urandom(args.big_mib << 20)
        setup.mkdir("/list")
        for i in range(args.entries):
            setup.write(f"/list/e{i:05}", b"")
        for name in clients:
            setup.mkdir(f"/{name[:8]}", exist_ok=True)

        def case(label, name, make, body):
            async def go():
                c = await make()
                t = time.perf_counter()
                await body(c)
                return time.perf_counter() - t

            secs = best(args.rounds, lambda: run_async(go()))
            results.append((label, name, secs))

        for name, make in clients.items():
            base = f"/{name[:8]}"
            case("4 KiB writes (sequential)", name, make, lambda c: small_writes(c, base, args.small, small))
            case("4 KiB reads (sequential)", name, make, lambda c: small_reads(c, base, args.small))
            case(f"{args.big_mib} MiB write", name, make, lambda c: big_write(c, f"{base}/big", big))
            case(f"{args.big_mib} MiB read", name, make, lambda c: big_read(c, f"{base}/big"))
            lister = "listdir" if name == "zerofs9p" else "read_dir"
            case(f"list {args.entries} entries", name, make, lambda c: getattr(c, lister)("/list"))
        bench_rust_read(args, target, results)
        setup.close()
    finally:
        srv.stdin.close()
        srv.wait(timeout=10)


def bench_fsspec(args, results):
    import pandas as pd

    df = pd.DataFrame({"a": range(1_000_000), "b": [i * 0.5 for i in range(1_000_000)]})
    buf = io.BytesIO()
    df.to_parquet(buf)
    payload = buf.getvalue()
    for generation, name in (("plain", "p9fs"), ("z", "zerofs9p"), ("plain", "zerofs9p")):
        srv, target = start_server(generation)
        try:
            host, port = target.replace("tcp://", "").rsplit(":", 1)
            if name == "p9fs":
                try:
                    from p9fs import P9FileSystem
                except ImportError:
                    print("p9fs not installed: skipped", file=sys.stderr)
                    continue
                fs = P9FileSystem(host=host, port=int(port), username="bench", skip_instance_cache=True)
                path = "x.parquet"
            else:
                from zerofs9p.fsspec import ZeroFsFileSystem

                fs = ZeroFsFileSystem(target=target, skip_instance_cache=True)
                path = "/x.parquet"
            Client.connect(target).write("/x.parquet", payload)
            def read():
                with fs.open(path, "rb") as f:
                    pd.read_parquet(f)

            secs = best(args.rounds, lambda: timed(read))
            results.append((f"pandas read_parquet ({len(payload) >> 10} KiB, {generation})", name, secs))
        finally:
            srv.stdin.close()
            srv.wait(timeout=10)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--small", type=int, default=2000)
    ap.add_argument("--big-mib", type=int, default=256)
    ap.add_argument("--entries", type=int, default=10000)
    ap.add_argument("--rust-bench", help="the zerofs-bench binary that times the Rust client")
    args = ap.parse_args()
    results = []
    bench_async_clients(args, results)
    bench_fsspec(args, results)
    print(f"| workload | client | best of {args.rounds} | rate |")
    print("| --- | --- | --- | --- |")
    for label, name, secs in results:
        if label.startswith("4 KiB"):
            rate = f"{args.small / secs:,.0f} ops/s"
        elif "MiB" in label and "parquet" not in label:
            rate = f"{args.big_mib / secs:,.0f} MiB/s"
        else:
            rate = ""
        print(f"| {label} | {name} | {secs * 1000:,.1f} ms | {rate} |")


if __name__ == "__main__":
    main()
