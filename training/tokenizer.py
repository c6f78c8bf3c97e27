"""Train a byte-level BPE tokenizer on the user's own text, saved as a Hugging Face tokenizer folder.

Byte-level means every string in every script encodes and decodes back exactly: unseen characters
fall back to their UTF-8 bytes instead of an unknown token. Nothing is downloaded (principle 6).
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerFast

EOS = "<|endoftext|>"
# Pre-tokens: letters together with their combining marks (so Devanagari, Thai or Arabic vowel signs
# stay inside their word), up to 3 digits, punctuation runs, whitespace. Scripts written without
# spaces become one pre-token per run of letters, which BPE then splits by frequency.
PRE_TOKENS = r""" ?[\p{L}\p{M}]+| ?\p{N}{1,3}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""


def train_tokenizer(texts: Iterable[str], vocab_size: int, out_dir: str | Path) -> PreTrainedTokenizerFast:
    """Learn `vocab_size` tokens (the 256 bytes and EOS included) from `texts`; save them to `out_dir`.

    `texts` is consumed once, as a stream. EOS (`<|endoftext|>`) separates documents and is also the
    padding token; the folder loads with `transformers.AutoTokenizer.from_pretrained(out_dir)`.
    """
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(PRE_TOKENS), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[EOS], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(texts, trainer)
    wrapped = PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token=EOS, pad_token=EOS,
                                      clean_up_tokenization_spaces=False)
    wrapped.save_pretrained(str(out_dir))
    return wrapped


def load_tokenizer(path: str | Path) -> PreTrainedTokenizerFast:
    """The tokenizer saved in `path` (a tokenizer folder or a model folder that holds one)."""
    return AutoTokenizer.from_pretrained(str(path))

