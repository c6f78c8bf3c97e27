"""Instruction fine-tuning data: (prompt, response) pairs where only the response is learned.

An example is `EOS prompt response EOS` (EOS first, as a document starts after one in pretraining;
the caller puts any separator or template into the prompt text). Its labels follow Hugging Face's
convention, aligned with the input ids: IGNORE (-100) on the leading EOS and every prompt token, the
token itself on the response and the closing EOS. `InstructBatches` feeds them to `training.train`.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch

from training.batches import IGNORE

Example = tuple[list[int], list[int]]  # (input_ids, labels), equal length


def encode_pairs(tokenizer, pairs: Iterable[tuple[str, str]], seq_len: int) -> tuple[list[Example], list[int]]:
    """Tokenize pairs into examples of at most `seq_len + 1` tokens (the response is cut if longer).

    Returns (examples, skipped): the indices of pairs whose prompt leaves no room for a single
    response token, so the caller can report them rather than lose them silently.
    """
    eos = tokenizer.eos_token_id
    examples, skipped = [], []
    for i, (prompt, response) in enumerate(pairs):
        prompt_ids = [eos] + tokenizer.encode(prompt, add_special_tokens=False)
        response_ids = tokenizer.encode(response, add_special_tokens=False) + [eos]
        input_ids = (prompt_ids + response_ids)[:seq_len + 1]
        if len(prompt_ids) >= len(input_ids):
            skipped.append(i)
            continue
        labels = [IGNORE] * len(prompt_ids) + input_ids[len(prompt_ids):]
        examples.append((input_ids, labels))
    return examples, skipped


class InstructBatches:
    """Micro-batches of examples drawn without replacement from a generator seeded by (seed, step, micro_step,
    rank), padded on the right with EOS (inputs) and IGNORE (targets)."""

    def __init__(self, examples: list[Example], micro_batch: int, seed: int, vocab_size: int, eos_id: int):
        if not examples:
            raise ValueError("no instruct examples to train on")
        self.examples, self.micro_batch, self.seed = examples, micro_batch, seed
        self.vocab_size, self.eos_id = vocab_size, eos_id

    def positions(self, step: int, micro_step: int, rank: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, step, micro_step, rank])
        n = len(self.examples)
        return rng.choice(n, self.micro_batch, replace=n < self.micro_batch).astype(np.int64)

    def batch(self, positions: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        chosen = [self.examples[i] for i in positions]
        length = max(len(ids) for ids, _ in chosen)
        ids = torch.full((len(chosen), length), self.eos_id, dtype=torch.long)
        labels = torch.full((len(chosen), length), IGNORE, dtype=torch.long)
        for row, (example_ids, example_labels) in enumerate(chosen):
            ids[row, :len(example_ids)] = torch.tensor(example_ids)
            labels[row, :len(example_labels)] = torch.tensor(example_labels)
        return ids[:, :-1], labels[:, 1:]
