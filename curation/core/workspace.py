"""Where a workspace lives and what is inside it."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from curation.core.errors import AgoraError

DEFAULT_DIRNAME = "agora-workspace"


@dataclass(frozen=True)
class Workspace:
    root: Path

    @property
    def catalog_path(self) -> Path:
        return self.root / "catalog.duckdb"

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    def run_dir(self, run_id: str) -> Path:
        return self.runs_dir / run_id

    def exists(self) -> bool:
        return self.catalog_path.is_file()

    def require(self) -> Workspace:
        if not self.exists():
            raise AgoraError(f"no Agora workspace at {self.root} (run `agora init --workspace {self.root}` first)")
        return self


def resolve_workspace(path: str | os.PathLike | None) -> Workspace:
    """--workspace wins, then $AGORA_WORKSPACE, then ./agora-workspace."""
    chosen = path or os.environ.get("AGORA_WORKSPACE") or DEFAULT_DIRNAME
    return Workspace(Path(chosen).expanduser().resolve())
