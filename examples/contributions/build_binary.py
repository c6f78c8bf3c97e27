"""Rebuild the binary example files from the readable JSONL kept in _src/.

    python examples/contributions/build_binary.py

The readable files in _src/ are the source of truth; this script writes, deterministically
(same input -> same bytes), the files the data cards point at:

    _src/kiel-news.jsonl     -> kiel-news/news.jsonl.gz          (gzip of the same bytes)
    _src/amman-web.jsonl     -> amman-web/pages.jsonl.zst         (zstd of the same bytes)
    _src/dnipro-prose.jsonl  -> dnipro-prose/shards/part-00{0,1}.parquet   (2 shards)
    _src/hanzi-wiki.jsonl    -> hanzi-wiki/hf/   (datasets.Dataset.save_to_disk)

The compressed JSONL files hold the _src bytes unchanged, so a line number in _src/ is the
line number in the decompressed file. The other sources (CSV, TSV, .txt folder, plain JSONL)
are readable as they are and are not touched here.
"""
from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import zstandard

HERE = Path(__file__).resolve().parent
SRC = HERE / "_src"


def read_jsonl(name: str) -> list[dict]:
    with open(SRC / f"{name}.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_gzip(name: str, dst: Path) -> None:
    # mtime=0 and an empty file name keep the gzip header identical from run to run
    with open(dst, "wb") as raw, gzip.GzipFile(
        filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9
    ) as f:
        f.write((SRC / f"{name}.jsonl").read_bytes())


def write_zstd(name: str, dst: Path) -> None:
    data = (SRC / f"{name}.jsonl").read_bytes()
    dst.write_bytes(zstandard.ZstdCompressor(level=19).compress(data))


def write_parquet_shards(name: str, dst_dir: Path, shards: int = 2) -> None:
    rows = read_jsonl(name)
    schema = pa.schema([(key, pa.string()) for key in rows[0]])
    if dst_dir.exists():
        shutil.rmtree(dst_dir)
    dst_dir.mkdir(parents=True)
    size = -(-len(rows) // shards)  # ceiling division
    for i in range(shards):
        part = rows[i * size : (i + 1) * size]
        table = pa.Table.from_pylist(part, schema=schema)
        pq.write_table(table, dst_dir / f"part-{i:03d}.parquet", compression="zstd")


def write_hf(name: str, dst: Path) -> None:
    rows = read_jsonl(name)
    features = datasets.Features({key: datasets.Value("string") for key in rows[0]})
    ds = datasets.Dataset.from_list(rows, features=features)
    if dst.exists():
        shutil.rmtree(dst)
    ds.save_to_disk(str(dst))


def main() -> None:
    write_gzip("kiel-news", HERE / "kiel-news" / "news.jsonl.gz")
    write_zstd("amman-web", HERE / "amman-web" / "pages.jsonl.zst")
    write_parquet_shards("dnipro-prose", HERE / "dnipro-prose" / "shards")
    write_hf("hanzi-wiki", HERE / "hanzi-wiki" / "hf")
    print("wrote kiel-news, amman-web, dnipro-prose, hanzi-wiki")


if __name__ == "__main__":
    main()
