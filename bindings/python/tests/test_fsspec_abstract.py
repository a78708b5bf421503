"""fsspec's own abstract test suite (the copy, get, put, open and pipe classes filesystem
implementers subclass), against ZeroFsFileSystem on the in-memory server."""

from __future__ import annotations

import posixpath

import fsspec.tests.abstract as abstract
import pytest



class ZeroFsFixtures(abstract.AbstractFixtures):
    @pytest.fixture
    def fs(self, session_fs):
        return session_fs

    @pytest.fixture
    def fs_join(self):
        return posixpath.join

    @pytest.fixture
    def fs_path(self, base):
        return base


class TestZeroFsCopy(abstract.AbstractCopyTests, ZeroFsFixtures):
    pass


class TestZeroFsGet(abstract.AbstractGetTests, ZeroFsFixtures):
    pass


class TestZeroFsPut(abstract.AbstractPutTests, ZeroFsFixtures):
    pass


class TestZeroFsOpen(abstract.AbstractOpenTests, ZeroFsFixtures):
    pass


class TestZeroFsPipe(abstract.AbstractPipeTests, ZeroFsFixtures):
    pass
