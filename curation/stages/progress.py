"""Progress a person can watch while `agora curate` runs, and none where nobody watches.

Three modes, chosen by `terminal_mode`: "live" when progress is wanted and stderr is a terminal
(a line redrawn in place), "plain" when it is wanted but stderr is a file or a pipe (one finished
line per stage or step, no carriage returns), "off" for `--json`.

Stage-1 tasks run in other processes or on other machines, so they report through the shared
workspace: `ReportProgress`, a pass-through pipeline step before the writer, keeps one small JSON
file per task rank in the run's `stage1-logs/progress/` (replaced atomically about once a second
and once more at the end). `watch_stage1` sums those files and counts datatrove's completion
markers (`stage1-logs/datatrove/completions/`, one per finished task) twice a second.
"""
from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

PROGRESS_DIR = "progress"  # under a run's stage-1 logs
WRITE_EVERY_S = 1.0  # how often a task replaces its progress file
REDRAW_EVERY_S = 0.5  # how often the live line is redrawn


def terminal_mode(progress: bool, stream=None) -> str:
    """'live', 'plain' or 'off': see the module docstring."""
    if not progress:
        return "off"
    stream = sys.stderr if stream is None else stream
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):  # closed or not a real stream
        tty = False
    return "live" if tty and os.environ.get("TERM") != "dumb" else "plain"


# ---- task side: a progress file per rank -------------------------------------------------------

class ReportProgress(PipelineStep):
    """Passes documents on unchanged and records how many went through, for the driver to show."""

    name = "report progress"
    type = "📊 - STATS"

    def __init__(self, logs_dir: str | None):
        super().__init__()
        self.logs_dir = logs_dir  # the run's stage-1 logs; None: report nothing

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if not self.logs_dir:
            yield from data
            return
        folder = Path(self.logs_dir) / PROGRESS_DIR
        done, written = 0, time.monotonic()
        write_progress(folder, rank, done, finished=False)
        for document in data:
            yield document
            done += 1
            if time.monotonic() - written >= WRITE_EVERY_S:
                write_progress(folder, rank, done, finished=False)
                written = time.monotonic()
        write_progress(folder, rank, done, finished=True)


def write_progress(folder: Path, rank: int, documents: int, finished: bool) -> None:
    """Replace rank's progress file in one step, so a reader never sees half of it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{rank:05d}.json"
    tmp = folder / f".{rank:05d}.json.tmp"
    tmp.write_text(json.dumps({"rank": rank, "documents": documents, "finished": finished}))
    os.replace(tmp, path)


def read_progress(folder: Path) -> int:
    """Documents done so far over all tasks' progress files (unreadable ones count as none)."""
    total = 0
    for path in folder.glob("[0-9]*.json"):
        try:
            total += int(json.loads(path.read_text())["documents"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return total


def forget_unfinished(folder: Path) -> None:
    """Drop the files of tasks an earlier, stopped attempt left unfinished: they start again at 0."""
    for path in folder.glob("[0-9]*.json"):
        try:
            finished = json.loads(path.read_text()).get("finished")
        except (OSError, ValueError, AttributeError):
            finished = False
        if not finished:
            path.unlink(missing_ok=True)


def tasks_done(logs: Path) -> int:
    """Stage-1 tasks that finished: datatrove leaves one completion marker per rank."""
    try:
        return sum(1 for _ in (logs / "datatrove" / "completions").iterdir())
    except OSError:
        return 0


# ---- driver side: the lines people see ---------------------------------------------------------

def duration(seconds: float) -> str:
    """`42s`, `6m12s`, `2h05m`."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def stage1_line(done: int, total: int, rate: float, tasks: tuple[int, int] | None = None) -> str:
    """The live stage-1 line: `stage 1  123,456/1,000,000 docs  2,345 docs/s  ETA 6m12s  tasks 3/64`."""
    if rate > 0:
        eta = "ETA " + duration(max(0, total - done) / rate)
    else:
        eta = "ETA --"
    line = f"stage 1  {done:,}/{total:,} docs  {rate:,.0f} docs/s  {eta}"
    if tasks:
        line += f"  tasks {tasks[0]}/{tasks[1]}"
    return line


def stage1_summary(done: int, total: int, elapsed: float, rate: float, tasks: tuple[int, int] | None = None) -> str:
    """The line the live one becomes at the end: counts, time taken, average rate."""
    line = f"stage 1  {done:,}/{total:,} docs in {duration(elapsed)}  {rate:,.0f} docs/s"
    if tasks:
        line += f"  tasks {tasks[0]}/{tasks[1]}"
    return line


class _Stage1Watcher:
    """Redraws the stage-1 line on a terminal file descriptor from a background thread."""

    def __init__(self, logs: Path, total: int, n_tasks: int, fd: int):
        self.logs, self.total, self.n_tasks, self.fd = logs, total, n_tasks, fd
        self.started = time.monotonic()
        forget_unfinished(logs / PROGRESS_DIR)  # a resumed run redoes those tasks from their start
        self.done_before = read_progress(logs / PROGRESS_DIR)  # and keeps the finished ones' share
        self.first: tuple[float, int] | None = None  # when documents started to flow, and the count then
        self.stop = threading.Event()

    def sample(self) -> tuple[int, float, tuple[int, int] | None]:
        """Documents done, the rate since they started to flow (0 for the first second: model
        loading is no measure), tasks done/total where there are several."""
        done, now = read_progress(self.logs / PROGRESS_DIR), time.monotonic()
        if self.first is None and done > self.done_before:
            self.first = (now, done)
        rate = 0.0
        if self.first and now - self.first[0] >= 1.0:
            rate = max(0, done - self.first[1]) / (now - self.first[0])
        tasks = (tasks_done(self.logs), self.n_tasks) if self.n_tasks > 1 else None
        return done, rate, tasks

    def loop(self) -> None:
        while True:
            done, rate, tasks = self.sample()
            self.draw(stage1_line(done, self.total, rate, tasks))
            if self.stop.wait(REDRAW_EVERY_S):
                return

    def finish(self, failed: bool = False) -> None:
        done, _, tasks = self.sample()
        elapsed = time.monotonic() - self.started
        if failed:
            self.draw(f"stage 1  {done:,}/{self.total:,} docs, stopped after {duration(elapsed)}", end="\n")
            return
        rate = (done - self.done_before) / elapsed if elapsed > 0 else 0.0
        self.draw(stage1_summary(done, self.total, elapsed, max(rate, 0.0), tasks), end="\n")

    def draw(self, line: str, end: str = "") -> None:
        try:
            width = os.get_terminal_size(self.fd).columns
        except OSError:
            width = 0
        if width > 1:
            line = line[:width - 1]  # a wrapped line cannot be redrawn with \r
        try:
            os.write(self.fd, ("\r" + line + "\x1b[K" + end).encode())
        except OSError:
            self.stop.set()


@contextmanager
def watch_stage1(logs: Path, total: int, n_tasks: int, progress: bool) -> Iterator[None]:
    """While stage 1 runs: a live line on a terminal, nothing otherwise (the caller prints the
    plain line). Writes to a copy of stderr taken on entry, so it keeps showing while datatrove's
    output goes to a log file."""
    if terminal_mode(progress) != "live":
        yield
        return
    sys.stderr.flush()
    fd = os.dup(2)
    watcher = _Stage1Watcher(logs, total, n_tasks, fd)
    thread = threading.Thread(target=watcher.loop, name="agora-progress", daemon=True)
    thread.start()
    failed = True
    try:
        yield
        failed = False
    finally:
        watcher.stop.set()
        thread.join()
        watcher.finish(failed)
        os.close(fd)


@contextmanager
def step(label: str, progress: bool) -> Iterator[None]:
    """One step of stages 2-3 with its time: `stage 2: duplicates …` while it runs on a terminal,
    `stage 2: duplicates  12.3 s` when done; in plain mode only the finished line."""
    mode = terminal_mode(progress)
    if mode == "live":
        sys.stderr.write(f"{label} …")
        sys.stderr.flush()
    started = time.monotonic()
    try:
        yield
    except BaseException:
        if mode == "live":
            sys.stderr.write(f"\r{label}  failed after {time.monotonic() - started:.1f} s\x1b[K\n")
        raise
    took = time.monotonic() - started
    if mode == "live":
        sys.stderr.write(f"\r{label}  {took:.1f} s\x1b[K\n")
    elif mode == "plain":
        sys.stderr.write(f"{label}: {took:.1f} s\n")
    sys.stderr.flush()
