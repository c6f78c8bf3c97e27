"""Models: `agora train`, `finetune`, `eval`, `generate` and `models`; the training code loads only when one runs."""
from __future__ import annotations

import argparse

from curation.cli.output import print_bpb, print_json, print_table
from curation.core.workspace import Workspace


def add_parsers(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    _add_train(commands, common)
    _add_finetune(commands, common)
    ev = commands.add_parser("eval", parents=[common], help="bits per byte per language on held-out documents")
    ev.add_argument("--model", required=True, metavar="RUN_OR_DIR")
    ev.add_argument("--mixture", metavar="NAME", help="whose held-out split (default: the model's mixture)")
    ev.set_defaults(handler=cmd_eval)

    gen = commands.add_parser("generate", parents=[common], help="continue a prompt with a trained model")
    gen.add_argument("--model", required=True, metavar="RUN_OR_DIR")
    gen.add_argument("prompt")
    gen.add_argument("--max-new-tokens", type=int, default=64)
    gen.add_argument("--temperature", type=float, default=0.7, help="0 = greedy")
    gen.add_argument("--seed", type=int, default=0)
    gen.set_defaults(handler=cmd_generate)

    models = commands.add_parser("models", parents=[common], help="list training runs")
    models.set_defaults(handler=cmd_models)


def _add_train(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    tr = commands.add_parser(
        "train", parents=[common], help="pretrain a causal LM from scratch on a mixture",
        description="Packs the mixture's manifest into token shards (once), then trains a Llama-style model with "
                    "AdamW, warmup + cosine decay, gradient clipping; checkpoints every quarter of the run; evaluates "
                    "bits per byte per language on the held-out documents; writes a Hugging Face model folder with a "
                    "model card. --nproc N trains data-parallel in N processes (torchrun: NCCL on GPUs, gloo on CPUs), "
                    "recorded like any run.")
    tr.add_argument("--mixture", required=True, metavar="NAME")
    tr.add_argument("--model", default="tiny",
                    help="tiny (CPU demo), small (~110M, a GPU), a config.json (fresh weights), or a Hugging Face "
                         "causal-LM folder to continue pretraining (its mixture made with --tokenizer DIR)")
    tr.add_argument("--steps", type=int, default=200)
    tr.add_argument("--batch-tokens", type=int, default=8192, metavar="N", help="tokens per optimizer step")
    tr.add_argument("--lr", type=float, default=1e-3)
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--resume", action="store_true", help="continue this run from its last checkpoint")
    tr.add_argument("--out", metavar="DIR", help="run folder (default: WORKSPACE/models/RUN)")
    tr.add_argument("--compile", action="store_true", help="torch.compile the model (GPUs: faster after warm-up)")
    dist = tr.add_argument_group("data-parallel (torchrun)")
    dist.add_argument("--nproc", type=int, default=1, metavar="N",
                      help="processes per machine, one per GPU (default 1: this process)")
    dist.add_argument("--nnodes", type=int, default=1, metavar="M", help="machines; run the same command on each")
    dist.add_argument("--node-rank", type=int, default=0, metavar="K", help="this machine's number, 0 to M-1")
    dist.add_argument("--master-addr", metavar="HOST", help="node 0's address (with --nnodes > 1)")
    tr.set_defaults(handler=cmd_train)


def _add_finetune(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    ft = commands.add_parser("finetune", parents=[common], help="fine-tune a trained model on a registered source")
    ft.add_argument("--from", dest="base", required=True, metavar="RUN_OR_DIR")
    ft.add_argument("--source", required=True, metavar="NAME")
    ft.add_argument("--format", choices=["instruct", "text"], default="instruct",
                    help="instruct: learn the responses only (prompt tokens are masked); text: continue pretraining")
    ft.add_argument("--prompt-field", default="prompt")
    ft.add_argument("--response-field", default="response")
    ft.add_argument("--steps", type=int, default=100)
    ft.add_argument("--batch-tokens", type=int, default=4096, metavar="N")
    ft.add_argument("--lr", type=float, default=3e-4)
    ft.add_argument("--seed", type=int, default=0)
    ft.add_argument("--out", metavar="DIR")
    ft.set_defaults(handler=cmd_finetune)


def cmd_train(args: argparse.Namespace, workspace: Workspace) -> None:
    from curation.training_runs import Launch, evaluate, pretrain

    launch = Launch(args.nproc, args.nnodes, args.node_rank, args.master_addr)
    result = pretrain(workspace.require(), args.mixture, model=args.model, steps=args.steps,
                      batch_tokens=args.batch_tokens, lr=args.lr, seed=args.seed, resume=args.resume, out=args.out,
                      quiet=args.json, launch=launch, compile=args.compile)
    if launch.node_rank:  # node 0 records and evaluates the run
        if args.json:
            print_json(result)
        else:
            print(f"node {launch.node_rank} of run {result['run_id']} finished")
        return
    result["eval"] = evaluate(workspace, result["run_id"])["bits_per_byte"]
    if args.json:
        print_json(result)
        return
    print(f"trained {result['run_id']}: {result['steps']} steps, loss {result['first_loss']:.3f} -> "
          f"{result['last_loss']:.3f}, {result['tokens_per_s']:,.0f} tokens/s; model in {result['model_dir']}")
    print_bpb(result["eval"])


def cmd_finetune(args: argparse.Namespace, workspace: Workspace) -> None:
    from curation.training_runs import finetune

    result = finetune(workspace.require(), args.base, args.source, fmt=args.format, prompt_field=args.prompt_field,
                      response_field=args.response_field, steps=args.steps, batch_tokens=args.batch_tokens,
                      lr=args.lr, seed=args.seed, out=args.out, quiet=args.json)
    if args.json:
        print_json(result)
    else:
        print(f"fine-tuned {result['run_id']}: {result['steps']} steps, loss {result['first_loss']:.3f} -> "
              f"{result['last_loss']:.3f}; model in {result['model_dir']}")


def cmd_eval(args: argparse.Namespace, workspace: Workspace) -> None:
    from curation.training_runs import evaluate

    result = evaluate(workspace.require(), args.model, args.mixture)
    if args.json:
        print_json(result)
    else:
        print(f"{result['run_id'] or result['model_dir']} on mixture {result['mixture']} v{result['mixture_version']}")
        print_bpb(result["bits_per_byte"])


def cmd_generate(args: argparse.Namespace, workspace: Workspace) -> None:
    from curation.training_runs import generate_text

    text = generate_text(workspace.require(), args.model, args.prompt, args.max_new_tokens, args.temperature,
                         args.seed)
    if args.json:
        print_json({"prompt": args.prompt, "text": text})
    else:
        print(args.prompt + text)


def cmd_models(args: argparse.Namespace, workspace: Workspace) -> None:
    from curation.models import list_runs

    runs = list_runs(workspace.require())
    if args.json:
        print_json(runs)
    elif not runs:
        print("no training runs yet (see `agora train --help`)")
    else:
        print_table(runs, ("run_id", "kind", "mixture", "base_run", "source", "status", "steps", "last_loss"))
