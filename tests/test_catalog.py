"""The catalog: schema creation, upgrades of older workspaces, and one writer at a time."""
from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import duckdb
import pytest

from curation.core.catalog import MIGRATIONS, SCHEMA_VERSION, migrate, open_catalog, schema_version
from curation.core.errors import WorkspaceBusy
from curation.core.workspace import Workspace, resolve_workspace


def test_new_catalog_has_current_schema(tmp_path):
    workspace = Workspace(tmp_path / "ws")
    with open_catalog(workspace) as con:
        assert schema_version(con) == SCHEMA_VERSION
        tables = {t for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert {"contributors", "sources", "runs", "malformed_records", "source_overview"} <= tables


def test_older_catalog_is_upgraded_on_open(tmp_path):
    workspace = Workspace(tmp_path / "ws")
    workspace.root.mkdir()
    con = duckdb.connect(str(workspace.catalog_path))
    migrate(con, target=1)
    con.execute("INSERT INTO contributors (name, country) VALUES ('Old Contributor', 'FR')")
    con.close()
    with open_catalog(workspace) as con:
        assert schema_version(con) == len(MIGRATIONS)
        assert con.execute("SELECT name FROM contributors").fetchall() == [("Old Contributor",)]
        columns = {c for (c,) in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'sources'").fetchall()}
        assert "attribution" in columns


def _hold_catalog(path: str, ready, release) -> None:
    with open_catalog(Workspace(Path(path))):
        ready.set()
        release.wait(30)


def test_second_writer_gets_workspace_busy(tmp_path):
    workspace = Workspace(tmp_path / "ws")
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_catalog, args=(str(workspace.root), ready, release))
    holder.start()
    try:
        assert ready.wait(60)
        started = time.monotonic()
        with pytest.raises(WorkspaceBusy, match="workspace is busy"):
            with open_catalog(workspace, timeout_s=0.5):
                pass
        assert time.monotonic() - started >= 0.5
    finally:
        release.set()
        holder.join(30)
    with open_catalog(workspace, timeout_s=5) as con:  # free again once the holder is gone
        assert schema_version(con) == SCHEMA_VERSION


def test_workspace_resolution(monkeypatch, tmp_path):
    monkeypatch.setenv("AGORA_WORKSPACE", str(tmp_path / "from-env"))
    assert resolve_workspace(None).root == tmp_path / "from-env"
    assert resolve_workspace(tmp_path / "flag").root == tmp_path / "flag"
    monkeypatch.delenv("AGORA_WORKSPACE")
    monkeypatch.chdir(tmp_path)
    assert resolve_workspace(None).root == tmp_path / "agora-workspace"
