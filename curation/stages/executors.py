"""Where stage 1 runs: datatrove's local, Ray or Slurm executor over the same list of steps.

Agora builds the executor and, for the engines that run elsewhere, checks first what a worker
needs: the workspace. Stage-1 tasks read the registered files and write Parquet into the
workspace, so on a cluster the workspace must be on a filesystem every node mounts at the same
path (NFS, Lustre, a cloud file share). A worker that cannot see it stops the run with that
sentence instead of tasks failing one by one.
"""
from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from curation.core.errors import AgoraError

EXECUTORS = ("local", "ray", "slurm")
SLURM_POLL_S = 2.0


@dataclass(frozen=True)
class SlurmOptions:
    """sbatch settings of every stage-1 task (datatrove's SlurmPipelineExecutor)."""

    partition: str | None = None
    time: str = "2:00:00"
    cpus_per_task: int = 1
    mem_per_cpu_gb: int = 2  # whole GB: sbatch rejects --mem-per-cpu=1.5G


@dataclass(frozen=True)
class Execution:
    """How stage 1 runs: which engine, how many tasks (pieces of input) and how many at once."""

    executor: str = "local"
    tasks: int | None = None  # None: one per worker (stage 1 sizes it from its input: shards.default_tasks)
    workers: int = 1
    slurm: SlurmOptions = SlurmOptions()

    def __post_init__(self):
        if self.executor not in EXECUTORS:
            raise AgoraError(f"unknown executor {self.executor!r}; choose one of {', '.join(EXECUTORS)}")
        if self.workers < 1 or (self.tasks is not None and self.tasks < 1):
            raise AgoraError("--tasks and --workers must be at least 1")

    @property
    def n_tasks(self) -> int:
        return self.tasks or self.workers


def run_pipeline(execution: Execution, pipeline: list, logs: Path, workspace: Path) -> None:
    """Run the stage-1 tasks, at most `workers` at a time, and return when all are done."""
    tasks, workers, logging_dir = execution.n_tasks, execution.workers, str(logs / "datatrove")
    if execution.executor == "local":
        from datatrove.executor import LocalPipelineExecutor

        LocalPipelineExecutor(pipeline, tasks=tasks, workers=workers, logging_dir=logging_dir).run()
    elif execution.executor == "ray":
        _run_on_ray(pipeline, tasks, workers, logging_dir, workspace)
    else:
        _run_on_slurm(pipeline, tasks, workers, logging_dir, workspace, execution.slurm)


@contextmanager
def datatrove_output_to(log_path: Path, what: str) -> Iterator[None]:
    """datatrove logs every task to stderr; send that to a file and keep the terminal for people.
    A failure inside becomes one line naming `what` failed and where the details are."""
    sys.stderr.flush()
    saved = os.dup(2)
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 2)
    try:
        yield
    except Exception as exc:
        raise AgoraError(f"{what} failed: {exc} (details in {log_path})") from exc
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(log)


def _run_on_ray(pipeline: list, tasks: int, workers: int, logging_dir: str, workspace: Path) -> None:
    try:
        import ray
        from datatrove.executor.ray import RayPipelineExecutor
    except ImportError:
        raise AgoraError("--executor ray needs Ray: pip install 'agora[ray]'") from None
    if not ray.is_initialized():  # join RAY_ADDRESS's cluster, or start a local one
        local = {} if os.environ.get("RAY_ADDRESS") else {"num_cpus": workers, "include_dashboard": False}
        ray.init(log_to_driver=False, **local)
    _check_ray_nodes_see(workspace)
    RayPipelineExecutor(pipeline, tasks=tasks, workers=workers, logging_dir=logging_dir, mem_per_cpu_gb=0.5).run()


def _check_ray_nodes_see(workspace: Path) -> None:
    """One tiny task pinned to each alive node: can it write to the workspace?"""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    @ray.remote(num_cpus=0)
    def can_write(path: str) -> tuple[str, bool]:
        import socket

        return socket.gethostname(), os.access(path, os.W_OK)

    nodes = [node["NodeID"] for node in ray.nodes() if node["Alive"]]
    checks = [can_write.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False))
              .remote(str(workspace)) for node in nodes]
    blind = sorted(host for host, ok in ray.get(checks) if not ok)
    if blind:
        raise AgoraError(_not_shared(workspace, ", ".join(blind)))


def _not_shared(workspace: Path, where: str) -> str:
    return (f"the workspace {workspace} is not writable on {where}: on a cluster it must be on a filesystem "
            f"every node mounts at the same path (NFS, Lustre, ...)")


def _run_on_slurm(pipeline: list, tasks: int, workers: int, logging_dir: str, workspace: Path,
                  options: SlurmOptions) -> None:
    """Submit the tasks as one sbatch job array, then wait for it: stages 2-3 need all of stage 1."""
    from datatrove.executor.slurm import SlurmPipelineExecutor

    executor = SlurmPipelineExecutor(
        pipeline, tasks=tasks, workers=workers, logging_dir=logging_dir, job_name="agora-stage1",
        partition=options.partition or _default_partition(), time=options.time,
        cpus_per_task=options.cpus_per_task, mem_per_cpu_gb=options.mem_per_cpu_gb,
        env_command=_slurm_preamble(workspace),
    )
    try:
        executor.run()
    except (OSError, subprocess.CalledProcessError) as exc:
        raise AgoraError(f"could not submit the stage-1 job with sbatch: {exc}") from None
    _wait_for_slurm(executor)


def _default_partition() -> str:
    """The partition sinfo marks with '*', as sbatch would choose without --partition."""
    try:
        listed = subprocess.run(["sinfo", "-h", "-o", "%P"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise AgoraError(f"--executor slurm needs Slurm's commands (sinfo, sbatch, squeue) here: {exc}") from None
    marked = [name.rstrip("*") for name in listed.split() if name.endswith("*")]
    if not marked:
        raise AgoraError("this Slurm cluster has no default partition: pass --partition NAME")
    return marked[0]


def _slurm_preamble(workspace: Path) -> str:
    """The job's first lines on a compute node: fail clearly without the workspace, then this Python."""
    where = shlex.quote(str(workspace))
    template = shlex.quote("agora: " + _not_shared(Path("%s"), "%s") + r"\n")
    return (f"if [ ! -w {where} ]; then printf {template} {where} \"$(hostname)\" >&2; exit 3; fi\n"
            f"export PATH={shlex.quote(str(Path(sys.executable).parent))}:$PATH")


def _wait_for_slurm(executor) -> None:
    """Until every task wrote its completion marker; an error when the job left the queue without."""
    job_id = executor.job_id
    if job_id in (None, -1):  # nothing to launch: every task had already completed
        return
    while executor.get_incomplete_ranks():
        if not _in_queue(job_id):
            missing = executor.get_incomplete_ranks()
            if missing:
                raise AgoraError(f"Slurm job {job_id} ended with {len(missing)} of {executor.tasks} stage-1 tasks "
                                 f"unfinished (first: {missing[:5]}); their logs are in {executor.slurm_logs_folder}")
        time.sleep(SLURM_POLL_S)


def _in_queue(job_id: str) -> bool:
    done = subprocess.run(["squeue", "-h", "-j", str(job_id), "-o", "%i"], capture_output=True, text=True)
    return done.returncode == 0 and bool(done.stdout.strip())
