"""The evaluation set says what its classes claim, and bench/brain.py runs end to end
(short: the real run with 10,000 entries is `make bench`)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

from bench import brain as bench

_STOP = """a an the i my me do does how to in on of for is are be can and or what when where
who which it at from with by your you this that ли и в на не с к по за о об от до из у я мне
мой моя мои как что где когда кто чем же бы то это все"""
STOP = set(_STOP.split())


def _stems(text: str) -> set[str]:
    return {w[:5] for w in re.findall(r"\w+", text.lower()) if w not in STOP and len(w) >= 3}


def test_the_evaluation_set(eval_set: dict[str, Any]) -> None:
    faq = {item["key"]: item for item in eval_set["faq"]}
    queries = eval_set["queries"]
    assert len(faq) >= 40 and len(queries) >= 100
    kinds = Counter(("ru" in i) + 2 * ("en" in i) for i in faq.values())
    assert kinds[1] >= 10 and kinds[2] >= 10 and kinds[3] >= 10  # ru only, en only, both
    classes = Counter(q["class"] for q in queries)
    assert set(classes) == set(bench.CLASSES) and min(classes.values()) >= 15
    for q in queries:
        assert q["language"] in ("ru", "en") and q["split"] in ("calibration", "holdout")
        if q["class"] == "unanswerable":
            assert q["expect"] is None
            continue
        target = faq[q["expect"]]
        if q["class"] == "paraphrase":  # no word in common with the entry, in any form
            text = " ".join(
                v["question"] + " " + v["answer"] for k, v in target.items() if k != "key"
            )
            assert not _stems(q["query"]) & _stems(text), q["query"]
        if q["class"] == "cross_language":  # the entry exists only in the other language
            assert q["language"] not in target, q["query"]
        else:
            assert q["language"] in target, q["query"]
    for cls in bench.CLASSES:
        splits = Counter(q["split"] for q in queries if q["class"] == cls)
        assert abs(splits["calibration"] - splits["holdout"]) <= 1


async def test_bench_smoke(tmp_path: Path, model: str) -> None:
    rows = await bench.quality(f"sqlite+aiosqlite:///{tmp_path}/quality.sqlite3", model)
    lines, missed = bench.quality_report(rows, "all queries", targets=True)
    assert missed == [], "\n".join(lines)  # recall@3 >= 0.9 per class, unanswerable not confident
    baseline = bench.class_figures(rows, "baseline")
    hybrid = bench.class_figures(rows, "hybrid")
    assert baseline["cross_language"]["r3"] == 0 < hybrid["cross_language"]["r3"]

    url = f"sqlite+aiosqlite:///{tmp_path}/scale.sqlite3"
    await bench.build_scale_db(url, bench.load_eval(), 300, model)
    figures = await bench.search_process(url, model, repeat=1)
    assert figures["mode"] == "hybrid" and 0 < figures["p50"] <= figures["p95"]
    assert set(figures["recall3"]) == set(bench.CLASSES) - {"unanswerable"}
