"""A model card (README.md in the Hugging Face style) in every saved model folder: what the model
is, which data it learned from and under which licenses, and how it scores per language."""
from __future__ import annotations

import json
from pathlib import Path

from curation.core.catalog import fetch_dicts, open_catalog
from curation.core.workspace import Workspace
from curation.governance.credits import credits
from curation.governance.lineage import model_lineage
from curation.models import model_dir


def write_model_card(workspace: Workspace, run_id: str) -> Path:
    lineage = model_lineage(workspace, run_id)
    with open_catalog(workspace) as con:
        run = fetch_dicts(con, "SELECT * FROM training_runs WHERE run_id = ?", [run_id])[0]
        scores = fetch_dicts(con, "SELECT lang, bits_per_byte, docs, bytes, step FROM eval_metrics WHERE run_id = ? "
                                  "QUALIFY evaluated_at = max(evaluated_at) OVER (PARTITION BY lang) ORDER BY lang",
                             [run_id])
    languages = sorted({lang for s in lineage["sources"] for lang in s["languages"]})
    licenses = sorted({s["license"] for s in lineage["sources"] + lineage["finetune_sources"]})
    config = json.loads(run["config"])
    lines = [
        "---",
        "library_name: transformers",
        "pipeline_tag: text-generation",
        f"language: [{', '.join(languages)}]",
        "license: other",
        f"license_name: data under {', '.join(licenses)}" if licenses else "license_name: unknown",
        "tags: [agora]",
        "---",
        "",
        f"# {run_id}",
        "",
        f"A {run['kind']} run made with Agora: {run['steps']} steps, training loss "
        f"{run['first_loss']:.3f} → {run['last_loss']:.3f}, {run['tokens_per_s']:,.0f} tokens/s.",
        f"Configuration: `{json.dumps(config, sort_keys=True)}`.",
        "",
        "## Data lineage",
        "",
    ]
    if lineage["mixture"]:
        mix = lineage["mixture"]
        lines += [f"Pretrained on mixture `{mix['name']}` v{mix['version']} (curation run `{mix['curation_run']}`, "
                  f"{mix['params']['method']} sampling, license policy `{mix['params']['license_policy']}`, "
                  f"seed {mix['params']['seed']}).", "",
                  "| source | contributor | country | license | class | languages | docs | tokens |",
                  "|---|---|---|---|---|---|---|---|"]
        lines += [f"| {s['name']} v{s['version']} | {s['contributor']} | {s['country']} | {s['license']} | "
                  f"{s['license_class']} | {', '.join(s['languages'])} | {s['docs']} | {s['tokens']:,} |"
                  for s in lineage["sources"]]
        lines.append("")
    for source in lineage["finetune_sources"]:
        lines.append(f"Fine-tuned on `{source['name']}` v{source['version']} ({source['contributor']}, "
                     f"{source['country']}, {source['license']}).")
    lines += ["", "## Evaluation", ""]
    if scores:
        lines += ["Bits per byte on the mixture's held-out documents (lower is better; tokenizer-independent).", "",
                  "| language | bits per byte | documents | bytes |", "|---|---|---|---|"]
        lines += [f"| {s['lang']} | {s['bits_per_byte']:.3f} | {s['docs']} | {s['bytes']:,} |" for s in scores]
    else:
        lines.append("Not evaluated yet: `agora eval --model " + run_id + "`.")
    lines += ["", "## Credits and obligations", ""]
    for group in credits(workspace, run_id)["groups"]:
        names = ", ".join(f"{s['name']} ({s['contributor']})" for s in group["sources"])
        lines.append(f"- **{group['license_class']}**: {names}. {group['obligation']}")
    lines += ["", "Trace any document: `agora lineage doc DOC_ID`; the whole lineage: "
              f"`agora lineage model {run_id}`.", ""]
    card = model_dir(run) / "README.md"
    card.write_text("\n".join(lines), encoding="utf-8")
    return card
