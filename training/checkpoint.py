"""Checkpoints that are either complete or absent, and everything a resumed run needs to continue exactly.

`run/checkpoints/step-00000300/` holds the model as Hugging Face writes it (config.json +
model.safetensors, so `AutoModelForCausalLM.from_pretrained` loads it) and `trainer_state.pt`:
step, per-step losses, logged throughput, optimizer state and the torch / numpy / python RNG states, all plain tensors
and numbers that `torch.load(..., weights_only=True)` reads without running pickled code. A
checkpoint is written under a temporary name and renamed into place, so a crash mid-write leaves the
previous one as the latest.
"""
from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import numpy as np
import torch
from transformers import PreTrainedModel

from training.model import save_model

KEEP = 2  # the newest checkpoints kept; older ones are removed once a newer one is complete
STATE = "trainer_state.pt"


def checkpoints(run_dir: str | Path) -> list[Path]:
    """Complete checkpoints of a run, oldest first."""
    root = Path(run_dir) / "checkpoints"
    return sorted(root.glob("step-*")) if root.is_dir() else []


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    found = checkpoints(run_dir)
    return found[-1] if found else None


def save_checkpoint(run_dir: str | Path, step: int, model: PreTrainedModel, optimizer: torch.optim.Optimizer,
                    losses: list[float], logged: list[dict]) -> Path:
    """Write the state after `step` completed steps; returns the checkpoint folder."""
    root = Path(run_dir) / "checkpoints"
    final, tmp = root / f"step-{step:08d}", root / f".step-{step:08d}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    save_model(model, tmp)
    torch.save({"step": step, "losses": list(losses), "logged": list(logged), "optimizer": optimizer.state_dict(),
                "rng": _rng_state()}, tmp / STATE)
    os.replace(tmp, final)
    for old in checkpoints(run_dir)[:-KEEP]:
        shutil.rmtree(old)
    return final


def load_trainer_state(checkpoint: Path, optimizer: torch.optim.Optimizer) -> tuple[int, list[float], list[dict]]:
    """Restore the optimizer and RNG states saved in `checkpoint`; returns (step, losses so far, logged
    throughput so far; none in checkpoints written before it was kept).

    The model weights are loaded separately, with the model (`training.model.load_model`).
    """
    state = torch.load(checkpoint / STATE, map_location="cpu", weights_only=True)
    optimizer.load_state_dict(state["optimizer"])
    _set_rng_state(state["rng"])
    return state["step"], state["losses"], state.get("logged", [])


def _rng_state() -> dict:
    numpy_state = np.random.get_state(legacy=False)
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {"key": torch.from_numpy(numpy_state["state"]["key"].astype(np.int64)),
                  "pos": numpy_state["state"]["pos"], "has_gauss": numpy_state["has_gauss"],
                  "gauss": numpy_state["gauss"]},
        "python": random.getstate(),
    }


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    numpy_state = state["numpy"]
    np.random.set_state({"bit_generator": "MT19937", "has_gauss": numpy_state["has_gauss"],
                         "gauss": numpy_state["gauss"],
                         "state": {"key": numpy_state["key"].numpy().astype(np.uint32), "pos": numpy_state["pos"]}})
    random.setstate(state["python"])
