"""Training core: tokenizer, packing, the loop (resume, NaN, DDP), fine-tuning labels, evaluation, generation."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from training.batches import IGNORE, PackedBatches, read_windows
from training.checkpoint import latest_checkpoint
from training.evaluate import bits_per_byte
from training.generate import generate
from training.instruct import InstructBatches, encode_pairs
from training.packing import PackedTokens, pack_ids, pack_texts
from training.throughput import card_peak, cpu_threads, mfu
from training.tokenizer import EOS, load_tokenizer, train_tokenizer
from training.train import NonFiniteLoss, TrainConfig, lr_at, train

REPO = Path(__file__).resolve().parent.parent
SCRIPTS = {
    "en": "The quick brown fox jumps over the lazy dog; it's 2024, isn't it?",
    "ru": "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "ar": "نص حكيم له سر قاطع وذو شأن عظيم مكتوب على ثوب أخضر ومغلف بجلد أزرق.",
    "hi": "ऋषियों को सताने वाले दुष्ट राक्षसों के राजा रावण का सर्वनाश करने वाले विष्णुवतार भगवान श्रीराम।",
    "zh": "我能吞下玻璃而不伤身体。天地玄黄，宇宙洪荒。",
    "ja": "いろはにほへと ちりぬるを、わかよたれそ つねならむ。私はガラスを食べられます。",
    "th": "เป็นมนุษย์สุดประเสริฐเลิศคุณค่า กว่าบรรดาฝูงสัตว์เดรัจฉาน",
}
TINY = dict(steps=6, warmup=2, lr=3e-3, checkpoint_every=3, quiet=True, device="cpu")


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny tensors run fastest on one thread, and a shared 2-core machine does not stall on them."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def corpus() -> list[tuple[str, str]]:
    return [(f"{lang}-{i}", f"{text} {i}\n" * (1 + i % 3)) for i in range(40) for lang, text in SCRIPTS.items()]


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory, corpus) -> Path:
    out = tmp_path_factory.mktemp("tok")
    train_tokenizer((text for _, text in corpus), 600, out)
    return out


@pytest.fixture(scope="module")
def packed(tmp_path_factory, tokenizer_dir, corpus) -> PackedTokens:
    out = tmp_path_factory.mktemp("packed") / "data"
    pack_texts(corpus, load_tokenizer(tokenizer_dir), out, shard_tokens=1000)
    return PackedTokens(out)


def tiny_batches(packed: PackedTokens, seed: int = 0) -> PackedBatches:
    return PackedBatches(packed, seq_len=32, micro_batch=4, seed=seed)


def test_tokenizer_round_trips_every_script_and_loads_with_auto_tokenizer(tokenizer_dir):
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    assert tokenizer.eos_token == tokenizer.pad_token == EOS
    for lang, text in {**SCRIPTS, "mixed": " ".join(SCRIPTS.values()), "unseen": "Ꭰ 🙂 \t\r\n  x  "}.items():
        ids = tokenizer.encode(text, add_special_tokens=False)
        assert tokenizer.eos_token_id not in ids
        assert tokenizer.decode(ids) == text, lang
    assert len(tokenizer.encode(SCRIPTS["hi"], add_special_tokens=False)) < len(SCRIPTS["hi"].encode()) / 2


def test_packing_puts_eos_after_each_document_and_indexes_them(tmp_path, packed, corpus, tokenizer_dir):
    tokenizer = load_tokenizer(tokenizer_dir)
    assert packed.meta["dtype"] == "uint16" and packed.meta["shards"] > 1
    expected = []
    for _, text in corpus:
        expected += tokenizer.encode(text, add_special_tokens=False) + [tokenizer.eos_token_id]
    assert len(packed) == len(expected) == packed.meta["n_tokens"]
    assert packed.window(0, len(packed)).tolist() == expected  # across every shard boundary
    first = len(tokenizer.encode(corpus[0][1], add_special_tokens=False))
    assert packed.window(first, 1)[0] == tokenizer.eos_token_id
    assert packed.documents_in(0, first + 1) == [corpus[0][0]]
    assert packed.documents_in(first, first + 2) == [corpus[0][0], corpus[1][0]]
    assert packed.documents_in(len(packed) - 1, len(packed)) == [corpus[-1][0]]
    with pytest.raises(IndexError):
        packed.window(len(packed) - 3, 4)


def test_uint32_shards_for_vocabularies_over_65535(tmp_path):
    docs = [("a", [70_000, 1, 65_535]), ("b", []), ("c", [99_998])]
    meta = pack_ids(docs, vocab_size=100_000, eos_id=99_999, out_dir=tmp_path / "p")
    packed = PackedTokens(tmp_path / "p")
    assert meta["dtype"] == "uint32" and packed.window(0, len(packed)).tolist() == [
        70_000, 1, 65_535, 99_999, 99_999, 99_998, 99_999]
    assert packed.documents_in(3, 5) == ["a", "b"]
    with pytest.raises(ValueError, match="outside"):
        pack_ids([("x", [100_000])], vocab_size=100_000, eos_id=0, out_dir=tmp_path / "q")


def test_loss_decreases_and_every_window_is_recorded(tmp_path, packed, tokenizer_dir):
    result = train(TrainConfig(run_dir=str(tmp_path), tokenizer=str(tokenizer_dir), **{**TINY, "steps": 30,
                                                                                       "checkpoint_every": 10}),
                   tiny_batches(packed))
    assert len(result.losses) == 30 and result.last_loss < result.first_loss - 1.0
    windows = read_windows(tmp_path)
    assert windows.num_rows == 30 * 4 and windows.column("step").to_pylist() == [s for s in range(30) for _ in range(4)]
    assert packed.documents_in(windows["start"][0].as_py(), windows["start"][0].as_py() + 33)
    model = AutoModelForCausalLM.from_pretrained(str(result.model_dir))
    assert model.config.eos_token_id == load_tokenizer(result.model_dir).eos_token_id


def test_throughput_is_logged_every_few_steps_and_mfu_needs_a_known_card(tmp_path, packed):
    result = train(TrainConfig(run_dir=str(tmp_path), **{**TINY, "steps": 7, "log_every": 3}), tiny_batches(packed))
    assert [row["step"] for row in result.logged] == [3, 6, 7]  # and always the last step
    assert all(row["tokens_per_s"] > 0 and row["mfu"] is None for row in result.logged)  # a CPU has no listed peak
    assert [row["lr"] for row in result.logged] == pytest.approx([lr_at(s - 1, TrainConfig(run_dir="", **{
        **TINY, "steps": 7})) for s in (3, 6, 7)])
    assert (card_peak("NVIDIA H100 80GB HBM3"), card_peak("NVIDIA H100 PCIe"), card_peak("NVIDIA H200")) == (
        989e12, 756e12, 989e12)
    assert card_peak("Tesla T4") is None and mfu(1000.0, 6e9, None) is None
    assert mfu(50_000.0, 6e8, 989e12) == pytest.approx(50_000 * 6e8 / 989e12)
    assert cpu_threads(1) == len(os.sched_getaffinity(0)) and cpu_threads(10**6) == 1


def test_resume_continues_exactly_like_an_uninterrupted_run(tmp_path, packed):
    full = train(TrainConfig(run_dir=str(tmp_path / "full"), **TINY), tiny_batches(packed))
    train(TrainConfig(run_dir=str(tmp_path / "cut"), **{**TINY, "steps": 3}), tiny_batches(packed))
    resumed = train(TrainConfig(run_dir=str(tmp_path / "cut"), resume=True, **TINY), tiny_batches(packed))
    assert len(resumed.losses) == 6
    np.testing.assert_allclose(resumed.losses, full.losses, rtol=0, atol=1e-6)
    assert read_windows(tmp_path / "cut").equals(read_windows(tmp_path / "full"))
    checkpoint = latest_checkpoint(tmp_path / "cut")
    assert checkpoint.name == "step-00000006"
    AutoModelForCausalLM.from_pretrained(str(checkpoint))  # a checkpoint is a Hugging Face model folder
    with pytest.raises(FileExistsError):
        train(TrainConfig(run_dir=str(tmp_path / "cut"), **TINY), tiny_batches(packed))


def test_nan_loss_stops_with_the_step_and_keeps_the_last_good_checkpoint(tmp_path, packed):
    class PoisonedAtStep4(PackedBatches):
        def batch(self, positions):
            inputs, targets = super().batch(positions)
            return inputs, torch.full_like(targets, IGNORE) if self.poisoned else targets

        def positions(self, step, micro_step, rank):
            self.poisoned = step == 4  # nothing to learn in the batch: cross-entropy is 0/0
            return super().positions(step, micro_step, rank)

    digests = {}

    def remember_checkpoint(step, loss, model):
        if checkpoint := latest_checkpoint(tmp_path):
            digests[checkpoint.name] = hashlib.sha256((checkpoint / "model.safetensors").read_bytes()).hexdigest()

    with pytest.raises(NonFiniteLoss, match=r"loss is nan at step 5 of 6.*step-00000003"):
        train(TrainConfig(run_dir=str(tmp_path), **TINY), PoisonedAtStep4(packed, 32, 4, 0), remember_checkpoint)
    checkpoint = latest_checkpoint(tmp_path)
    assert checkpoint.name == "step-00000003" and not list((tmp_path / "checkpoints").glob(".*"))
    assert hashlib.sha256((checkpoint / "model.safetensors").read_bytes()).hexdigest() == digests[checkpoint.name]
    resumed = train(TrainConfig(run_dir=str(tmp_path), resume=True, **{**TINY, "steps": 4}), tiny_batches(packed))
    assert len(resumed.losses) == 4 and np.isfinite(resumed.losses).all()
    assert read_windows(tmp_path).column("step").to_pylist()[-1] == 3  # the failed step's record was dropped


def test_two_process_ddp_with_torchrun(tmp_path, packed):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
               "-m", "training.train", "--data", str(packed.path), "--out", str(tmp_path), "--steps", "3",
               "--batch-tokens", "256", "--seq-len", "32", "--device", "cpu", "--quiet"]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "model" / "model.safetensors").is_file()
    windows = read_windows(tmp_path).to_pandas()
    assert sorted(windows["rank"].unique()) == [0, 1] and len(windows) == 3 * 2 * 4
    by_rank = windows.groupby("rank")["start"].apply(list)
    assert by_rank[0] != by_rank[1]


def test_instruct_labels_mask_prompt_and_padding(tokenizer_dir):
    tokenizer = load_tokenizer(tokenizer_dir)
    pairs = [("Question: 2+2?\nAnswer:", " 4"), ("Translate to Russian: bread\n", " хлеб"), ("x" * 500, "y")]
    examples, skipped = encode_pairs(tokenizer, pairs, seq_len=64)
    assert skipped == [2] and len(examples) == 2
    eos = tokenizer.eos_token_id
    for (prompt, response), (ids, labels) in zip(pairs, examples):
        n_prompt = 1 + len(tokenizer.encode(prompt, add_special_tokens=False))
        assert ids[0] == eos and ids[-1] == eos and len(ids) == len(labels)
        assert labels[:n_prompt] == [IGNORE] * n_prompt
        assert labels[n_prompt:] == ids[n_prompt:] and IGNORE not in labels[n_prompt:]
        assert tokenizer.decode(ids[n_prompt:-1]) == response
    batches = InstructBatches(examples, micro_batch=2, seed=0, vocab_size=len(tokenizer), eos_id=eos)
    positions = np.array([0, 1])
    inputs, targets = batches.batch(positions)
    for row, (ids, labels) in enumerate(examples):
        assert inputs[row, :len(ids) - 1].tolist() == ids[:-1]
        assert targets[row].tolist() == labels[1:] + [IGNORE] * (inputs.shape[1] - len(ids) + 1)


def test_fine_tune_eval_and_generate(tmp_path, packed, tokenizer_dir):
    base = train(TrainConfig(run_dir=str(tmp_path / "base"), tokenizer=str(tokenizer_dir), **TINY),
                 tiny_batches(packed)).model_dir
    tokenizer = load_tokenizer(base)
    examples, _ = encode_pairs(tokenizer, [(f"Q{i}:", f" {SCRIPTS['ru'][:20]}") for i in range(8)], seq_len=32)
    tuned = train(TrainConfig(run_dir=str(tmp_path / "tuned"), model=str(base), **{**TINY, "steps": 10}),
                  InstructBatches(examples, micro_batch=4, seed=0, vocab_size=len(tokenizer),
                                  eos_id=tokenizer.eos_token_id))
    assert tuned.last_loss < tuned.first_loss
    assert load_tokenizer(tuned.model_dir).decode(tokenizer.encode(SCRIPTS["th"])) == SCRIPTS["th"]
    bpb = bits_per_byte(tuned.model_dir, {lang: [text, text[::-1]] for lang, text in SCRIPTS.items()})
    assert set(bpb) == set(SCRIPTS) and all(0 < value < 20 for value in bpb.values())
    text = generate(tuned.model_dir, "Q3:", max_new_tokens=12, temperature=0.8, seed=1)
    assert isinstance(text, str) and text == generate(tuned.model_dir, "Q3:", max_new_tokens=12, seed=1)
    assert generate(tuned.model_dir, "Q3:", max_new_tokens=8, temperature=0)
