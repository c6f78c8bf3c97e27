"""Per-language evaluation in bits per byte: comparable across tokenizers, models and scripts.

bpb = total negative log-likelihood (nats) of the texts' tokens / (ln 2 x the texts' UTF-8 bytes).
Each text is scored as a document: after an EOS, in chunks of the model's context length.
"""
from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from transformers import PreTrainedModel

from training.batches import IGNORE
from training.model import load_model
from training.tokenizer import load_tokenizer


@torch.no_grad()
def bits_per_byte(model: PreTrainedModel | str | Path, texts: dict[str, list[str]], tokenizer=None,
                  batch_size: int = 16) -> dict[str, float]:
    """{language: bits per byte} over each language's held-out texts.

    `model` is a model or a model folder; a folder supplies its own tokenizer.
    """
    if not isinstance(model, PreTrainedModel):
        tokenizer = tokenizer or load_tokenizer(model)
        model = load_model(model)
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    seq_len = model.config.max_position_embeddings
    result = {}
    for lang, lang_texts in texts.items():
        n_bytes = sum(len(text.encode("utf-8")) for text in lang_texts)
        if not n_bytes:
            raise ValueError(f"no text to evaluate for {lang!r}")
        chunks = []
        for ids in tokenizer(lang_texts, add_special_tokens=False)["input_ids"]:
            ids = [tokenizer.eos_token_id] + ids
            chunks += [ids[i:i + seq_len + 1] for i in range(0, len(ids) - 1, seq_len)]
        nll = 0.0
        for i in range(0, len(chunks), batch_size):
            batch = chunks[i:i + batch_size]
            length = max(len(chunk) for chunk in batch) - 1
            inputs = torch.full((len(batch), length), tokenizer.eos_token_id, dtype=torch.long)
            targets = torch.full((len(batch), length), IGNORE, dtype=torch.long)
            mask = torch.zeros((len(batch), length), dtype=torch.long)  # right padding: causal attention
            for row, chunk in enumerate(batch):                          # keeps it out already; say so
                inputs[row, :len(chunk) - 1] = torch.tensor(chunk[:-1])
                targets[row, :len(chunk) - 1] = torch.tensor(chunk[1:])
                mask[row, :len(chunk) - 1] = 1
            logits = model(input_ids=inputs.to(device), attention_mask=mask.to(device)).logits
            nll += F.cross_entropy(logits.flatten(0, 1).float(), targets.to(device).flatten(), ignore_index=IGNORE,
                                   reduction="sum").item()
        result[lang] = nll / (math.log(2) * n_bytes)
    model.train(was_training)
    return result
