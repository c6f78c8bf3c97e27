"""Write one benchmark's section of benchmarks/RESULTS.md, replacing its previous version."""
from __future__ import annotations

import os
import platform
import re
from datetime import date
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
HEADER = "# Benchmark results\n"


def write_section(title: str, command: str, body: str) -> None:
    """`## title` with the command that produced it, the date and the machine, then `body`."""
    text = RESULTS.read_text("utf-8") if RESULTS.exists() else HEADER
    section = (f"## {title}\n\n`{command}` — {date.today().isoformat()}, {platform.machine()}, "
               f"{os.cpu_count()} CPUs, Python {platform.python_version()}\n\n{body.strip()}\n\n")
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    RESULTS.write_text(text.rstrip() + "\n", "utf-8")
