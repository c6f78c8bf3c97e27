"""What every command group shares: the --workspace/--json parent parser and the argument types."""
from __future__ import annotations

import argparse


def common_parser() -> argparse.ArgumentParser:
    """The parent parser each subcommand lists in `parents=`: --workspace and --json."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--workspace", metavar="DIR",
                        help="workspace folder (default: $AGORA_WORKSPACE, else ./agora-workspace)")
    common.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout, nothing else")
    return common


def comma_list(value: str) -> list[str]:
    """a,b , c → ["a", "b", "c"]; empty items are dropped."""
    return [part.strip() for part in value.split(",") if part.strip()]


def token_count(value: str) -> int:
    """2M, 500k, 1.5B or a plain number."""
    scale = {"k": 10**3, "m": 10**6, "b": 10**9}.get(value[-1:].lower(), 1)
    try:
        count = float(value[:-1] if scale > 1 else value) * scale
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a token count: {value!r} (e.g. 2M, 500k)") from None
    if count <= 0:
        raise argparse.ArgumentTypeError("the token budget must be positive")
    return int(count)


def byte_size(value: str) -> int:
    """2GB, 512MB, 1.5G or a plain number of bytes → bytes (powers of 1024)."""
    number = value.strip().upper().removesuffix("B")
    scale = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}.get(number[-1:], 1)
    try:
        size = float(number[:-1] if scale > 1 else number) * scale
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {value!r} (e.g. 2GB, 512MB)") from None
    if size < 2**26:
        raise argparse.ArgumentTypeError("give at least 64MB")
    return int(size)


def language_weights(value: str) -> dict[str, float]:
    """de=0.3,fr=0.2 → {"de": 0.3, "fr": 0.2}."""
    weights = {}
    for item in comma_list(value):
        lang, _, share = item.partition("=")
        try:
            weights[lang.strip()] = float(share)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"weights are lang=share pairs, e.g. de=0.3,fr=0.2; got {item!r}") from None
    return weights
