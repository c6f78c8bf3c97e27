"""Real clusters on this machine for the executor tests: a Ray cluster of two nodes and a one-node
Slurm (munge, slurmctld, slurmd), each inside a network namespace of its own whose only address in
use is 127.0.0.1, so no traffic leaves it. (A veth pair gives the namespace one more address that
nothing is sent to: Slurm's resolver refuses to resolve anything on a host with only loopback.)
Needs root and `ip netns`; Slurm also needs Debian's slurm-wlm and munge (`make test` installs them
where apt works). Tests skip, saying why, where these are missing.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

VENV_BIN = Path(sys.executable).parent
RAY_PORT = 6390


def require_root_and_netns() -> None:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("a real cluster needs root and `ip netns` (iproute2) to isolate it in a network namespace")


@contextmanager
def network_namespace(name: str) -> Iterator[list[str]]:
    """A fresh namespace with loopback up; yields the command prefix that runs inside it."""
    subprocess.run(["ip", "netns", "delete", name], capture_output=True)
    subprocess.run(["ip", "netns", "add", name], check=True)
    inside = ["ip", "netns", "exec", name]
    try:
        subprocess.run([*inside, "ip", "link", "set", "lo", "up"], check=True)
        yield inside
    finally:
        subprocess.run(["ip", "netns", "delete", name], capture_output=True)


def run_inside(inside: list[str], *argv: str, env: dict | None = None,
               timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([*inside, "env", *(f"{k}={v}" for k, v in (env or {}).items()), *argv],
                          capture_output=True, text=True, timeout=timeout)


@contextmanager
def ray_cluster(inside: list[str]) -> Iterator[str]:
    """A head node and a second node (one CPU each) joined to it; yields RAY_ADDRESS."""
    ray = str(VENV_BIN / "ray")
    common = ["--num-cpus=1", "--disable-usage-stats"]
    try:
        head = run_inside(inside, ray, "start", "--head", f"--port={RAY_PORT}", "--include-dashboard=false", *common)
        assert head.returncode == 0, head.stderr[-2000:]
        node = run_inside(inside, ray, "start", f"--address=127.0.0.1:{RAY_PORT}", *common)
        assert node.returncode == 0, node.stderr[-2000:]
        yield f"127.0.0.1:{RAY_PORT}"
    finally:
        run_inside(inside, ray, "stop", "--force")


SLURM_CONF = """\
ClusterName=agoratest
SlurmctldHost={host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation={folder}/state
SlurmdSpoolDir={folder}/spool
SlurmctldPidFile={folder}/slurmctld.pid
SlurmdPidFile={folder}/slurmd.pid
SlurmctldLogFile={folder}/slurmctld.log
SlurmdLogFile={folder}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory=4000 State=UNKNOWN
PartitionName=agora Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


@contextmanager
def slurm_cluster(inside: list[str], folder: Path) -> Iterator[dict[str, str]]:
    """munge, slurmctld and slurmd for this host; yields the environment that points sbatch at it."""
    if not all(shutil.which(tool) for tool in ("munged", "slurmctld", "slurmd", "sbatch")):
        pytest.skip("Slurm is not installed: apt-get install slurm-wlm munge (make test does where apt works)")
    for sub in ("state", "spool"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    host = socket.gethostname().split(".")[0]
    (folder / "slurm.conf").write_text(SLURM_CONF.format(host=host, folder=folder, cpus=os.cpu_count()))
    cgroup_v2 = Path("/sys/fs/cgroup/cgroup.controllers").exists()
    (folder / "cgroup.conf").write_text("CgroupPlugin=" + ("autodetect" if cgroup_v2 else "cgroup/v1") + "\n")
    env = {"SLURM_CONF": str(folder / "slurm.conf")}
    subprocess.run([*inside, "ip", "link", "add", "agora0", "type", "veth", "peer", "name", "agora1"], check=True)
    subprocess.run([*inside, "ip", "addr", "add", "198.18.0.1/30", "dev", "agora0"], check=True)
    subprocess.run([*inside, "ip", "link", "set", "agora0", "up"], check=True)
    munge_running = subprocess.run(["pgrep", "-x", "munged"], capture_output=True).returncode == 0
    started_munge = not munge_running and _start_munge()
    try:
        for daemon in ("slurmctld", "slurmd"):
            done = run_inside(inside, daemon, env=env)
            assert done.returncode == 0, f"{daemon} did not start: {done.stderr[-1000:]}"
        _wait_until_idle(inside, env, folder)
        yield env
    finally:
        for pid_file in ("slurmd.pid", "slurmctld.pid"):
            _kill_from(folder / pid_file)
        if started_munge:
            subprocess.run(["pkill", "-x", "munged"], capture_output=True)


def _start_munge() -> bool:
    Path("/run/munge").mkdir(parents=True, exist_ok=True)
    shutil.chown("/run/munge", "munge", "munge")
    subprocess.run(["munged", "--force"], check=True, capture_output=True)
    return True


def _wait_until_idle(inside: list[str], env: dict, folder: Path, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = run_inside(inside, "sinfo", "-h", "-o", "%t", env=env, timeout=10).stdout.strip()
        if state == "idle":
            return
        time.sleep(0.5)
    log = (folder / "slurmd.log").read_text(errors="replace")[-1500:] if (folder / "slurmd.log").exists() else ""
    raise AssertionError(f"the Slurm node did not become idle; slurmd log:\n{log}")


def _kill_from(pid_file: Path) -> None:
    if not pid_file.exists():
        return
    try:
        os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
    except (ValueError, ProcessLookupError):
        pass
