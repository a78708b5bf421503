"""The type stubs describe the native module: every class and method they declare exists
at run time, and every public runtime method is declared."""

from __future__ import annotations

import ast
import pathlib

import zerofs9p
from zerofs9p import _native

STUB = pathlib.Path(zerofs9p.__file__).with_name("_native.pyi")


def stub_classes() -> dict[str, set[str]]:
    tree = ast.parse(STUB.read_text())
    out = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            out[node.name] = {
                n.name if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) else n.target.id
                for n in node.body
                if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                or (isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name))
            }
    return out


def test_stubs_match_the_native_module():
    classes = stub_classes()
    assert {"AsyncClient", "Client", "AsyncFile", "File", "MemServer", "Stat",
            "TransferProgress"} <= set(classes)
    for name, members in classes.items():
        cls = getattr(_native, name)
        for m in members - {"__init__"}:
            assert hasattr(cls, m), f"{name}.{m} is in the stub but not the module"
        inherited = set(dir(OSError)) if issubclass(cls, BaseException) else set()
        public = {m for m in dir(cls) if not m.startswith("_")} - inherited
        missing = public - members
        assert not missing, f"{name}: {sorted(missing)} missing from the stub"


def test_docstrings_for_help():
    for cls in (_native.AsyncClient, _native.Client, _native.AsyncFile, _native.File):
        assert cls.__doc__
        for m in ("read", "write", "stat"):
            assert getattr(cls, m).__doc__, f"{cls.__name__}.{m}"
    assert zerofs9p.__doc__ and "fsspec" in zerofs9p.__doc__


def test_every_public_method_has_a_docstring():
    """help() on the classes explains every method (Stat's fields are named like
    os.stat_result and described by the class docstring)."""
    for cls in (_native.AsyncClient, _native.Client, _native.AsyncFile, _native.File,
                _native.AsyncScandir, _native.Scandir, _native.DirEntry, _native.StatFs,
                _native.MemServer, _native.TransferProgress):
        assert cls.__doc__, cls.__name__
        undocumented = [m for m in dir(cls) if not m.startswith("_")
                        and not (getattr(cls, m).__doc__ or "").strip()]
        assert not undocumented, f"{cls.__name__}: {undocumented}"
    assert "bulk engine" in _native.AsyncClient.upload.__doc__
