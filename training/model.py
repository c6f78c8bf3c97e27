"""The model: a Hugging Face causal LM built from a config, never from downloaded weights.

Llama-style (RMSNorm, rotary positions, SwiGLU, no biases) through `LlamaForCausalLM`, with input
and output embeddings tied and PyTorch's scaled-dot-product attention. Measured, not guessed: on
tiny-shakespeare at nanoGPT's CPU size it reached validation loss 1.90 in 650 iterations where a
GPT-2-style nanoGPT (learned positions, LayerNorm, GELU) needed 1,800, at ~14% more time per step:
0.42x the wall time (benchmarks/RESULTS.md, "Training (tiny-shakespeare)").
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from transformers import AutoConfig, AutoModelForCausalLM, LlamaConfig, PreTrainedModel
from transformers.utils import logging as hf_logging

PRESETS: dict[str, dict] = {
    # CPU demo: trains on ~200 KB of text in about a minute on 2 cores.
    "tiny": dict(hidden_size=128, intermediate_size=352, num_hidden_layers=4, num_attention_heads=4,
                 max_position_embeddings=128),
    # One GPU: ~110M parameters with a 32k vocabulary.
    "small": dict(hidden_size=768, intermediate_size=2048, num_hidden_layers=12, num_attention_heads=12,
                  max_position_embeddings=1024),
}


def build_model(preset_or_path: str | Path, vocab_size: int) -> PreTrainedModel:
    """A freshly initialised model: a preset name (`tiny`, `small`) or a path to a config.json.

    A config.json is read as Hugging Face writes it (any causal-LM `model_type`); its vocab_size is
    replaced by `vocab_size`, the tokenizer's.
    """
    if str(preset_or_path) in PRESETS:
        config = LlamaConfig(vocab_size=vocab_size, tie_word_embeddings=True, rms_norm_eps=1e-5,
                             bos_token_id=None, eos_token_id=None, pad_token_id=None,
                             **PRESETS[str(preset_or_path)])
    elif Path(preset_or_path).is_file():
        settings = {**json.loads(Path(preset_or_path).read_text()), "vocab_size": vocab_size}
        for key in ("bos_token_id", "eos_token_id", "pad_token_id"):  # another tokenizer's ids (GPT-2: 50256);
            if isinstance(settings.get(key), int) and settings[key] >= vocab_size:  # the final model gets ours
                settings[key] = None
        config = AutoConfig.for_model(**settings)
    else:
        raise ValueError(f"unknown model {str(preset_or_path)!r}: use one of {sorted(PRESETS)} or a config.json path")
    return AutoModelForCausalLM.from_config(config, attn_implementation="sdpa")


def context_length(preset_or_path: str | Path) -> int:
    """The longest sequence the model is configured for: a preset, a config.json or a model folder."""
    if str(preset_or_path) in PRESETS:
        return PRESETS[str(preset_or_path)]["max_position_embeddings"]
    path = Path(preset_or_path)
    config_file = path / "config.json" if path.is_dir() else path
    return AutoConfig.for_model(**json.loads(config_file.read_text())).max_position_embeddings


def load_model(path: str | Path) -> PreTrainedModel:
    """A saved model folder (a run's `model/` or a checkpoint), in float32 with SDPA attention."""
    with _no_hf_progress_bars():
        return AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32, attn_implementation="sdpa")


def save_model(model: PreTrainedModel, path: str | Path) -> None:
    """`save_pretrained` (config.json + model.safetensors), without a progress bar per checkpoint."""
    with _no_hf_progress_bars():
        model.save_pretrained(str(path))


@contextmanager
def _no_hf_progress_bars() -> Iterator[None]:
    """Hugging Face draws a bar for every local load and save; they would interleave with the training bar."""
    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()


def count_parameters(model: torch.nn.Module) -> int:
    """Distinct parameters (tied embeddings counted once)."""
    return sum(p.numel() for p in model.parameters())


def flops_per_token(model: PreTrainedModel, seq_len: int) -> float:
    """Training FLOPs per token: 6 per matmul weight plus attention, as nanoGPT's MFU estimate counts them.

    The input embedding is a lookup, not a matmul; it is counted only when tied to the output layer.
    """
    config = model.config
    n = count_parameters(model)
    if not config.tie_word_embeddings:
        n -= model.get_input_embeddings().weight.numel()
    return 6 * n + 12 * config.num_hidden_layers * config.hidden_size * seq_len
