"""Time of the offline local extractor per contract (the embedded default and last fallback).

    .venv/bin/python bench/local_extractor_speed.py [--rounds 20]

Runs over the labelled set and the demo contracts; prints median and p95 per document and the
median per 1,000 characters, so a regression (say, regex backtracking) shows as a jump.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, machine, percentile
from pipeline.providers.local.extractor import extract_fields
from pipeline.seed.demo import demo_contracts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    texts = [json.loads(line)["text"] for line in (ROOT / "tests/data/gap_labelled.jsonl").read_text().splitlines() if line.strip()]
    texts += [c["document_text"] for c in demo_contracts()]
    per_doc, per_kchar = [], []
    for _ in range(args.rounds):
        for text in texts:
            started = time.perf_counter()
            extract_fields(text)
            elapsed = (time.perf_counter() - started) * 1000
            per_doc.append(elapsed)
            per_kchar.append(elapsed / max(len(text), 1) * 1000)
    print(f"\nLocal extractor speed  ({machine()})")
    print(f"documents {len(texts)} x {args.rounds} rounds, {statistics.mean(len(t) for t in texts):.0f} characters on average")
    print(f"per document: median {statistics.median(per_doc):.2f} ms, p95 {percentile(per_doc, 95):.2f} ms")
    print(f"per 1,000 characters: median {statistics.median(per_kchar):.2f} ms")


if __name__ == "__main__":
    main()
