"""Mixtures and training at scale, end to end on the bundled examples: the same bytes for any number of
workers, `agora train --nproc 2` (gloo) recorded like a one-process run and resumable after a kill,
continued pretraining of a GPT-2 built here, quiet commands, eval's summary line."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from curation.cli import main
from curation.core.workspace import Workspace
from curation.mixture.build import pack_mixture, show_mixture
from tests.helpers import run_cli
from tests.test_model_runs import MIX, agora
from tests.test_model_runs import trained as trained  # the fixture: examples curated, mixed, a tiny model trained
from training.batches import read_windows

REPO = Path(__file__).resolve().parent.parent
DDP = ["--nproc", "2", "--batch-tokens", "1024"]  # 8 windows of 128 tokens a step: 4 per process


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def catalog(workspace: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(workspace / "catalog.duckdb"), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def agora_process(workspace: Path, *argv: str, **popen) -> subprocess.Popen:
    """The CLI in its own process group (it starts torchrun, which starts the training processes)."""
    return subprocess.Popen([sys.executable, "-m", "curation.cli", *argv, "--workspace", str(workspace)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            **popen)


def test_manifest_and_packed_shards_are_the_same_bytes_for_1_and_4_workers(capsys, trained):
    one = show_mixture(Workspace(trained), "demo")  # made with --workers 1, packed by `agora train`
    four = agora(capsys, trained, "mix", "create", "demo-4", *MIX, "--workers", "4", "--memory-limit", "256MB")
    assert len(list((Path(four["path"]) / "tokens").glob("task-*"))) == 4
    for name in ("manifest.parquet", "holdout.parquet"):
        assert (Path(four["path"]) / name).read_bytes() == (Path(one["path"]) / name).read_bytes()
    assert four["parts"] == one["parts"]
    packed = pack_mixture(Workspace(trained), four, workers=4)
    assert digests(packed) == digests(Path(one["path"]) / "packed")
    manifest = pq.read_table(Path(one["path"]) / "manifest.parquet")
    assert sum(manifest.column("n_tokens").to_pylist()) == json.loads((packed / "meta.json").read_text())["n_tokens"]


def test_two_processes_are_recorded_like_one_and_resume_after_a_kill(capsys, trained, tmp_path):
    steps = ["--mixture", "demo", *DDP, "--steps", "40", "--seed", "7"]  # checkpoints every 10 steps
    uninterrupted = tmp_path / "ws"  # the same run (same settings, same id) in a copy of the workspace
    shutil.copytree(trained, uninterrupted)
    whole = agora(capsys, uninterrupted, "train", *steps)
    assert whole["steps"] == 40 and Path(whole["model_dir"], "model.safetensors").is_file()

    interrupted = agora_process(trained, "train", *steps)
    first_checkpoint = trained / "models" / whole["run_id"] / "checkpoints" / "step-00000010"
    while interrupted.poll() is None and not first_checkpoint.is_dir():
        time.sleep(0.02)
    os.killpg(interrupted.pid, signal.SIGKILL)  # the launcher, torchrun and both training processes
    interrupted.wait()
    assert catalog(trained, "SELECT status FROM training_runs WHERE run_id = ?", [whole["run_id"]]) == [("running",)]
    code, _, err = run_cli(capsys, "train", *steps, "--workspace", str(trained))
    assert code == 1 and "--resume" in err
    resumed = agora(capsys, trained, "train", *steps, "--resume")
    assert resumed["run_id"] == whole["run_id"]

    losses = [[loss for (loss,) in catalog(ws, "SELECT loss FROM train_metrics WHERE run_id = ? ORDER BY step",
                                           [whole["run_id"]])] for ws in (uninterrupted, trained)]
    assert len(losses[1]) == 40 and losses[1] == pytest.approx(losses[0], abs=1e-6)
    windows = read_windows(resumed["run_dir"]).to_pandas()
    assert sorted(windows["rank"].unique()) == [0, 1] and len(windows) == 40 * 2 * 4
    logged = catalog(trained, "SELECT step, tokens_per_s FROM train_metrics WHERE run_id = ? AND tokens_per_s "
                              "IS NOT NULL ORDER BY step", [resumed["run_id"]])
    assert [step for step, _ in logged] == [10, 20, 30, 40] and all(rate > 0 for _, rate in logged)
    assert [s for (s,) in catalog(trained, "SELECT step FROM checkpoints WHERE run_id = ? ORDER BY step",
                                  [resumed["run_id"]])] == [30, 40]

    lineage = agora(capsys, trained, "lineage", "model", resumed["run_id"])
    assert lineage["mixture"]["name"] == "demo" and lineage["sources"]
    assert agora(capsys, trained, "credits", resumed["model_dir"])["kind"] == "model"
    assert Path(resumed["model_dir"], "README.md").read_text("utf-8").count("bits per byte") >= 1
    report = agora(capsys, trained, "report", "--model", resumed["run_id"], "--out", str(tmp_path / "r.html"))
    assert resumed["run_id"] in Path(report["report"]).read_text("utf-8")


def _gpt2(folder: Path, texts: list[str], vocab_size: int = 600, eos: bool = True) -> Path:
    """A small GPT-2 with a byte-level BPE tokenizer, both built and saved here by transformers: no download."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(texts, vocab_size=vocab_size, special_tokens=["<|endoftext|>"], show_progress=False)
    special = "<|endoftext|>" if eos else None
    tokenizer = GPT2TokenizerFast(tokenizer_object=bpe, eos_token=special, bos_token=special, unk_token=special)
    tokenizer.save_pretrained(folder)
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=64, n_embd=32, n_layer=2, n_head=2,
                        bos_token_id=tokenizer.eos_token_id, eos_token_id=tokenizer.eos_token_id)
    GPT2LMHeadModel(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def example_texts(trained) -> list[str]:
    from curation.stages.runs import latest_run
    from tests.test_curate import kept_texts

    return kept_texts(trained, latest_run(Workspace(trained)))["text"].tolist()


def test_continued_pretraining_of_a_local_gpt2(capsys, trained, tmp_path, example_texts):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = _gpt2(tmp_path / "gpt2", example_texts)
    mixture = agora(capsys, trained, "mix", "create", "for-gpt2", "--budget-tokens", "20k", "--tokenizer", str(base))
    assert AutoTokenizer.from_pretrained(mixture["tokenizer_dir"]).get_vocab() == \
        AutoTokenizer.from_pretrained(base).get_vocab()
    run = agora(capsys, trained, "train", "--mixture", "for-gpt2", "--model", str(base), "--steps", "3",
                "--batch-tokens", "256")
    model = AutoModelForCausalLM.from_pretrained(run["model_dir"])
    assert type(model).__name__ == "GPT2LMHeadModel"
    assert model.config.vocab_size == len(AutoTokenizer.from_pretrained(base))
    assert AutoTokenizer.from_pretrained(run["model_dir"]).eos_token == "<|endoftext|>"
    assert json.loads(catalog(trained, "SELECT config FROM training_runs WHERE run_id = ?",
                              [run["run_id"]])[0][0])["model"] == str(base.resolve())
    lineage = agora(capsys, trained, "lineage", "model", run["model_dir"])
    assert lineage["run_id"] == run["run_id"] and lineage["mixture"]["name"] == "for-gpt2" and lineage["sources"]
    assert agora(capsys, trained, "generate", "--model", run["run_id"], "Die Stadt", "--max-new-tokens", "4")["text"]


def test_tokenizer_and_model_that_disagree_fail_clearly(capsys, trained, tmp_path, example_texts):
    other = _gpt2(tmp_path / "other", example_texts, vocab_size=700)  # its own tokenizer, not demo's
    code, _, err = run_cli(capsys, "train", "--mixture", "demo", "--model", str(other), "--workspace", str(trained))
    assert code == 1 and "tokenized with another tokenizer" in err and "--tokenizer" in err
    small = _gpt2(tmp_path / "small", example_texts, vocab_size=300)  # fewer ids than demo's 512
    code, _, err = run_cli(capsys, "train", "--mixture", "demo", "--model", str(small), "--workspace", str(trained))
    assert code == 1 and "has 300 token ids" in err and "512" in err
    no_eos = _gpt2(tmp_path / "no-eos", example_texts, eos=False)
    capsys.readouterr()  # (saving it drew a progress bar)
    code, _, err = run_cli(capsys, "mix", "create", "x", "--budget-tokens", "10k", "--tokenizer", str(no_eos),
                           "--workspace", str(trained))
    assert code == 1 and err.startswith("agora: error: the tokenizer in") and "no end-of-sequence token" in err
    assert err.count("\n") == 1  # one line, no traceback


def test_eval_lists_the_languages_and_counts_those_without_held_out_documents(capsys, trained):
    run = next(r for r in agora(capsys, trained, "models") if r["kind"] == "pretrain")
    agora(capsys, trained, "mix", "create", "no-holdout", *MIX, "--holdout", "0")
    for name, evaluated in (("demo", True), ("no-holdout", False)):
        assert main(["eval", "--model", run["run_id"], "--mixture", name, "--workspace", str(trained)]) == 0
        out = capsys.readouterr().out.splitlines()
        scores = agora(capsys, trained, "eval", "--model", run["run_id"], "--mixture", name)["bits_per_byte"]
        languages = sorted(lang for lang, value in scores.items() if value is not None)
        assert out[1].startswith(f"bits per byte on held-out documents, {len(languages)} language(s)")
        assert all(f"{lang} " in out[1] for lang in languages) and bool(languages) == evaluated
        missing = len(scores) - len(languages)
        assert (out[2:] == [] if not missing else out[2].startswith(f"{missing} language(s) had no held-out"))


def test_train_finetune_eval_generate_print_no_library_warnings(trained, tmp_path, example_texts):
    """In subprocesses, as a user sees them: stderr holds the progress bar and nothing else."""
    gpt2_config = tmp_path / "gpt2.json"
    from transformers import GPT2Config

    GPT2Config(n_layer=1, n_embd=32, n_head=2, n_positions=128).to_json_file(gpt2_config)  # eos 50256: not ours
    train = agora_process(trained, "train", "--mixture", "demo", "--model", str(gpt2_config), "--steps", "2",
                          "--batch-tokens", "256")
    _, err = train.communicate(timeout=600)
    run_dir = json.loads(subprocess.run([sys.executable, "-m", "curation.cli", "models", "--json", "--workspace",
                                         str(trained)], capture_output=True, text=True, cwd=REPO).stdout)[-1]["run_dir"]
    outputs = [(train.returncode, err)]
    for argv in (["finetune", "--from", run_dir, "--source", "agora-instruct", "--steps", "2", "--batch-tokens", "256"],
                 ["eval", "--model", run_dir], ["generate", "--model", run_dir, "Die Stadt", "--max-new-tokens", "4"]):
        process = agora_process(trained, *argv)
        _, err = process.communicate(timeout=600)
        outputs.append((process.returncode, err))
    for code, err in outputs:
        assert code == 0, err
        lines = [line for line in err.replace("\r", "\n").splitlines() if line.strip() and not line.startswith("train")]
        assert not lines, "\n".join(lines)
