"""How fast training runs: CPU threads per process, and model FLOPs utilisation (MFU) on GPUs.

MFU is the share of the card's dense bf16 peak that the model's own training FLOPs
(`model.flops_per_token` x tokens/s) use, as nanoGPT and PaLM report it; it is unknown (None) on
CPUs and on cards missing from PEAK_BF16_FLOPS.
"""
from __future__ import annotations

import os

import torch

# Dense bf16 tensor-core peaks (no sparsity), from NVIDIA's datasheets; the first name contained in
# torch.cuda.get_device_name() wins, so the more specific names come first.
PEAK_BF16_FLOPS: dict[str, float] = {
    "H100 PCIe": 756e12,
    "H100 NVL": 835e12,
    "H100": 989e12,  # SXM
    "H200": 989e12,
    "H20": 148e12,
    "A100": 312e12,
    "L40S": 362e12,
    "L4": 121e12,
}


def cpu_threads(processes_per_node: int) -> int:
    """Intra-op threads for each of the training processes on one machine: the usable cores split
    evenly, at least one, so that N processes never run more threads than there are cores
    (torch's default, all cores in every process, oversubscribes N-fold; benchmarks/RESULTS.md,
    "CPU threads per training process", has the measurements)."""
    return max(1, len(os.sched_getaffinity(0)) // max(processes_per_node, 1))


def set_cpu_threads(processes_per_node: int = 1) -> int:
    threads = cpu_threads(processes_per_node)
    torch.set_num_threads(threads)
    return threads


def peak_flops(device: torch.device) -> float | None:
    """The card's dense bf16 peak in FLOP/s, None on a CPU or an unlisted card."""
    return card_peak(torch.cuda.get_device_name(device)) if device.type == "cuda" else None


def card_peak(name: str) -> float | None:
    """The dense bf16 peak of the card torch calls `name` (e.g. "NVIDIA H100 80GB HBM3"), None if unlisted."""
    return next((flops for card, flops in PEAK_BF16_FLOPS.items() if card in name), None)


def mfu(tokens_per_s_per_device: float, flops_per_token: float, peak: float | None) -> float | None:
    return tokens_per_s_per_device * flops_per_token / peak if peak else None
