"""Find the team's real corpora (../shared/data beside the repository), for tests and benchmarks."""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def find_shared_data() -> Path | None:
    """$AGORA_SHARED_DATA, else ../shared/data next to the repository; None when neither exists."""
    candidates = [os.environ.get("AGORA_SHARED_DATA"), REPO_ROOT.parent / "shared" / "data"]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None
