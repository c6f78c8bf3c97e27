"""Sample a continuation from a trained model folder."""
from __future__ import annotations

from pathlib import Path

import torch

from training.model import load_model
from training.tokenizer import load_tokenizer


def generate(model_dir: str | Path, prompt: str, max_new_tokens: int = 200, temperature: float = 0.8,
             seed: int = 0) -> str:
    """The text the model writes after `prompt` (the prompt itself not included).

    The prompt follows an EOS, as documents and instruct examples do in training; generation stops
    at EOS or after `max_new_tokens`. Temperature 0 is greedy; the same seed gives the same text.
    """
    tokenizer = load_tokenizer(model_dir)
    model = load_model(model_dir).eval()
    model.config.pad_token_id = None  # one prompt, not padded: no padding check (generate gets pad_token_id below)
    eos = tokenizer.eos_token_id
    input_ids = torch.tensor([[eos] + tokenizer.encode(prompt, add_special_tokens=False)])
    torch.manual_seed(seed)
    sampling = dict(do_sample=True, temperature=temperature) if temperature > 0 else dict(do_sample=False)
    output = model.generate(input_ids, attention_mask=torch.ones_like(input_ids), max_new_tokens=max_new_tokens,
                            eos_token_id=eos, pad_token_id=eos, **sampling)
    return tokenizer.decode(output[0, input_ids.shape[1]:], skip_special_tokens=True)
