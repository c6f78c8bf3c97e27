"""Progress a person can watch: the live line, the task-side progress files, and `agora curate`
under a real pseudo-terminal, with --json and with stderr piped (no live line there)."""
from __future__ import annotations

import json
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from datatrove.data import Document

from curation.cli import main
from curation.stages import progress
from curation.stages.progress import (
    ReportProgress,
    _Stage1Watcher,
    duration,
    read_progress,
    stage1_line,
    tasks_done,
    terminal_mode,
    watch_stage1,
    write_progress,
)

REPO = Path(__file__).resolve().parent.parent


def test_the_live_line_shows_counts_rate_eta_and_tasks():
    line = stage1_line(123_456, 1_000_000, 2_345.4, (3, 64))
    assert line == "stage 1  123,456/1,000,000 docs  2,345 docs/s  ETA 6m14s  tasks 3/64"
    assert stage1_line(10, 100, 0.0) == "stage 1  10/100 docs  0 docs/s  ETA --"
    assert "ETA 0s" in stage1_line(120, 100, 5.0)  # more documents than records counted: never negative


@pytest.mark.parametrize("seconds, text", [(0, "0s"), (42.4, "42s"), (372, "6m12s"), (7500, "2h05m")])
def test_durations(seconds, text):
    assert duration(seconds) == text


def test_modes():
    class Stream:
        def __init__(self, tty):
            self.tty = tty

        def isatty(self):
            return self.tty

    assert terminal_mode(False, Stream(True)) == "off"
    assert terminal_mode(True, Stream(False)) == "plain"
    assert terminal_mode(True, Stream(True)) in ("live", "plain")  # plain where TERM=dumb


def _documents(n: int):
    return (Document(text=f"text {i}", id=str(i)) for i in range(n))


def test_tasks_write_progress_files_the_watcher_sums(tmp_path, monkeypatch):
    logs = tmp_path / "stage1-logs"
    monkeypatch.setattr(progress, "WRITE_EVERY_S", 0.0)  # a file after every document
    stream = ReportProgress(str(logs)).run(_documents(5), rank=0)
    assert [d.id for d in (next(stream), next(stream))] == ["0", "1"]
    seen = json.loads((logs / "progress" / "00000.json").read_text())
    assert seen["documents"] >= 1 and not seen["finished"]  # while the task still runs
    assert len(list(stream)) == 3  # every document passes through unchanged
    assert json.loads((logs / "progress" / "00000.json").read_text()) == {
        "rank": 0, "documents": 5, "finished": True}
    monkeypatch.setattr(progress, "WRITE_EVERY_S", 3600.0)  # only the first and the last write
    assert len(list(ReportProgress(str(logs)).run(_documents(7), rank=3))) == 7
    (logs / "progress" / "00009.json").write_text("{half a fi")  # unreadable: counts as none
    assert read_progress(logs / "progress") == 12

    (logs / "datatrove" / "completions").mkdir(parents=True)
    for rank in (0, 3):
        (logs / "datatrove" / "completions" / f"{rank:05d}").touch()
    assert tasks_done(logs) == 2
    assert list(ReportProgress(None).run(_documents(2))) and not (tmp_path / "progress").exists()

    read, written = os.pipe()
    try:
        write_progress(logs / "progress", 2, 40, finished=False)  # left by a stopped attempt
        watcher = _Stage1Watcher(logs, 20, 4, written)
        assert watcher.done_before == 12 and not (logs / "progress" / "00002.json").exists()
        write_progress(logs / "progress", 1, 6, finished=False)
        done, _, tasks = watcher.sample()
        assert (done, tasks) == (18, (2, 4))
        watcher.finish()
        line = os.read(read, 4096).decode()
    finally:
        os.close(read)
        os.close(written)
    assert line.startswith("\rstage 1  18/20 docs in ") and line.endswith("tasks 2/4\x1b[K\n")


def test_watch_draws_on_the_terminal_it_found_and_ends_the_line(tmp_path, monkeypatch, capfd):
    monkeypatch.setattr(progress, "terminal_mode", lambda wanted: "live" if wanted else "off")
    logs = tmp_path / "stage1-logs"
    with watch_stage1(logs, 10, 1, True):
        write_progress(logs / "progress", 0, 10, finished=True)
    with pytest.raises(KeyError), watch_stage1(logs, 10, 1, True):
        raise KeyError("a task failed")
    with watch_stage1(logs, 10, 1, False):
        pass
    err = capfd.readouterr().err
    assert "\rstage 1  10/10 docs in " in err and "tasks" not in err  # one task: no task count
    assert err.endswith("\rstage 1  10/10 docs, stopped after 0s\x1b[K\n")


# ---- `agora curate` as people run it ---------------------------------------------------------

@pytest.fixture(scope="module")
def registered(tmp_path_factory):
    workspace = tmp_path_factory.mktemp("progress") / "ws"
    assert main(["init", "--workspace", str(workspace)]) == 0
    for card in sorted((REPO / "examples" / "contributions").glob("*/datacard.yaml")):
        assert main(["register", "--card", str(card), "--workspace", str(workspace)]) == 0
    return workspace


def _fresh(registered: Path, tmp_path: Path) -> Path:
    """A copy of the registered workspace: every test curates from scratch."""
    return Path(shutil.copytree(registered, tmp_path / "ws"))


def _curate(*argv: str, stdout, stderr) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "curation.cli", "curate", *argv], cwd=REPO,
                            stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, close_fds=True)


def _terminal() -> tuple[int, int]:
    """A pseudo-terminal that leaves '\\n' alone, so every '\\r' read back was written by agora."""
    master, slave = pty.openpty()
    attrs = termios.tcgetattr(slave)
    attrs[1] &= ~termios.ONLCR
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    return master, slave


def _read_all(master: int, process: subprocess.Popen, limit_s: float = 600) -> str:
    out, deadline = b"", time.monotonic() + limit_s
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1.0)
        if not ready:
            if process.poll() is not None:
                break
            continue
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    process.wait(timeout=60)
    os.close(master)
    return out.decode("utf-8", "replace")


def test_a_terminal_sees_live_stage1_and_timed_steps(registered, tmp_path):
    workspace = _fresh(registered, tmp_path)
    master, slave = _terminal()
    process = _curate("--workspace", str(workspace), "--tasks", "2", stdout=slave, stderr=slave)
    os.close(slave)
    out = _read_all(master, process)
    assert process.returncode == 0, out
    assert re.search(r"\rstage 1  [\d,]+/[\d,]+ docs  [\d,]+ docs/s", out), out
    assert re.search(r"\rstage 1  [\d,]+/[\d,]+ docs in \w+  [\d,]+ docs/s  tasks 2/2\x1b\[K\n", out), out
    for label in ("stage 2: duplicates", "stage 3: decisions"):
        assert re.search(rf"\r{label}  \d+\.\d s\x1b\[K\n", out), out
    assert "docs dropped" in out.split("stage 3: decisions")[-1]  # then the funnel, as before


def test_json_and_piped_stderr_get_no_live_line(registered, tmp_path):
    workspace = _fresh(registered, tmp_path)
    master, slave = _terminal()
    process = _curate("--workspace", str(workspace), "--json", stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    stdout = process.stdout.read().decode()
    err = _read_all(master, process)
    assert process.returncode == 0, err
    run = json.loads(stdout)
    assert run["docs_in"] > 0
    assert "\r" not in err and "stage" not in err and "docs/s" not in err

    shutil.rmtree(workspace)
    workspace = _fresh(registered, tmp_path)
    done = subprocess.run([sys.executable, "-m", "curation.cli", "curate", "--workspace", str(workspace)],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stderr and "\x1b" not in done.stderr and "docs/s" not in done.stderr
    lines = done.stderr.splitlines()
    assert any(line.startswith("stage 1: ") and "documents from" in line for line in lines), done.stderr
    assert any(re.fullmatch(r"stage 2: duplicates: \d+\.\d s", line) for line in lines), done.stderr
    assert any(re.fullmatch(r"stage 3: decisions: \d+\.\d s", line) for line in lines), done.stderr
