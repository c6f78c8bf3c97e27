"""Stage 1 on real clusters started here (tests/clusters.py): a two-node Ray cluster joined through
RAY_ADDRESS, and a one-node Slurm that runs the sbatch job array datatrove writes. Each run must
equal the local one: same run id, decisions, clusters, curated rows and signals."""
from __future__ import annotations

import json
import shlex
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from curation.stages.executors import _slurm_preamble
from tests.clusters import network_namespace, ray_cluster, require_root_and_netns, run_inside, slurm_cluster
from tests.test_curate import _tables, register_examples
from tests.test_curate import curated as curated  # the fixture: one local run to compare with


def _curate_inside(inside: list[str], workspace: Path, env: dict, *flags: str) -> dict:
    done = run_inside(inside, sys.executable, "-m", "curation.cli", "curate", *flags, "--workspace", str(workspace),
                      "--json", env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_ray_cluster_of_two_nodes_gives_the_local_run(curated, tmp_path):
    pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'agora[ray]'")
    require_root_and_netns()
    reference_ws, run = curated
    workspace = tmp_path / "ws"
    register_examples(workspace)
    with network_namespace("agora-ray-test") as inside, ray_cluster(inside) as address:
        on_ray = _curate_inside(inside, workspace, {"RAY_ADDRESS": address}, "--executor", "ray", "--workers", "2")
    assert on_ray["run_id"] == run["run_id"]
    assert _tables(workspace, run["run_id"]) == _tables(reference_ws, run["run_id"])


def test_slurm_job_array_gives_the_local_run(curated, tmp_path):
    require_root_and_netns()
    reference_ws, run = curated
    workspace = tmp_path / "ws"
    register_examples(workspace)
    with network_namespace("agora-slurm-test") as inside, slurm_cluster(inside, tmp_path / "slurm") as env:
        on_slurm = _curate_inside(inside, workspace, env, "--executor", "slurm", "--tasks", "3", "--workers", "2",
                                  "--time", "0:10:00", "--mem-per-cpu-gb", "1")
        script = (workspace / "runs" / run["run_id"] / "stage1-logs" / "datatrove" / "launch_script.slurm").read_text()
    assert on_slurm["run_id"] == run["run_id"]
    assert _tables(workspace, run["run_id"]) == _tables(reference_ws, run["run_id"])
    assert "#SBATCH --array=0-2%2" in script and "#SBATCH --time=0:10:00" in script
    assert "#SBATCH --partition=agora" in script  # the cluster's default partition, found with sinfo
    assert f"if [ ! -w {shlex.quote(str(workspace))} ]" in script  # a node that cannot see the workspace says so


def test_a_slurm_node_without_the_workspace_stops_with_one_clear_line(tmp_path):
    missing = tmp_path / "not mounted here" / "ws"
    done = subprocess.run(["bash", "-c", _slurm_preamble(missing)], capture_output=True, text=True)
    assert done.returncode == 3
    assert done.stderr == (f"agora: the workspace {missing} is not writable on {socket.gethostname()}: on a cluster "
                           "it must be on a filesystem every node mounts at the same path (NFS, Lustre, ...)\n")
