"""Shared fixtures: the real corpora in ../shared/data, skipped where a clone has none."""
from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.shared_data import find_shared_data


@pytest.fixture(scope="session")
def shared_data() -> Path:
    root = find_shared_data()
    if root is None:
        pytest.skip("../shared/data is absent (only the project's own checkouts have it)")
    return root
