"""FAQ import / export: idempotent by question, translations paired, bad files refused whole."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from devops_center.brain.models import BrainDocument
from devops_center.migrations import runner
from devops_center.support import faq_io
from devops_center.support.models import FaqEntry, FaqTranslation

ENTRIES = [
    {
        "category": "Shifts",
        "question": "How do I swap a shift?",
        "answer": "Offer a swap on the shift's card.",
        "language": "en",
    },
    {
        "category": "Смены",
        "question": "Как поменяться сменой?",
        "answer": "Предложите обмен в карточке смены.",
        "language": "ru",
        "translation_of": "How do I swap a shift?",
    },
    {"category": "Оплата", "question": "Когда зарплата?", "answer": "5 и 20 числа."},
]


async def test_import_is_idempotent_and_pairs_translations(sessionmaker: Any) -> None:
    async with sessionmaker() as s, s.begin():
        first = await faq_io.import_entries(s, ENTRIES)
    assert (first.created, first.updated, first.unchanged, first.linked) == (3, 0, 0, 1)
    async with sessionmaker() as s, s.begin():
        again = await faq_io.import_entries(s, ENTRIES)
    assert (again.created, again.updated, again.unchanged, again.linked) == (0, 0, 3, 0)

    changed = [dict(ENTRIES[2], answer="5-го и 20-го числа.")]
    async with sessionmaker() as s, s.begin():
        edit = await faq_io.import_entries(s, changed)
    assert (edit.created, edit.updated) == (0, 1)
    async with sessionmaker() as s:
        rows = {e.question: e for e in await s.scalars(select(FaqEntry))}
        pair = (await s.execute(select(FaqTranslation))).scalar_one()
        exported = await faq_io.export_entries(s)
    assert rows["Когда зарплата?"].language == "ru"  # detected from the text
    assert rows["Когда зарплата?"].answer == "5-го и 20-го числа."
    assert (pair.original_id, pair.translation_id) == (
        rows["How do I swap a shift?"].id,
        rows["Как поменяться сменой?"].id,
    )
    assert exported == [
        ENTRIES[0],
        ENTRIES[1],
        {**changed[0], "language": "ru"},
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"not": "a list"}, "JSON list"),
        ([{"question": "Q?", "answer": "A.", "category": ""}], "entry 1 ('Q?'): category"),
        ([ENTRIES[0], {**ENTRIES[2], "colour": "red"}], "entry 2: unknown field(s) colour"),
        ([ENTRIES[0], ENTRIES[0]], "the same question appears twice"),
        ([{**ENTRIES[1], "translation_of": "Nope?"}], "translation_of: no entry 'Nope?'"),
        ([{**ENTRIES[0], "language": "de"}], "language: Choose Russian or English"),
    ],
)
async def test_a_bad_file_stores_nothing(sessionmaker: Any, data: Any, message: str) -> None:
    with pytest.raises(faq_io.FaqFileError) as err:
        async with sessionmaker() as s, s.begin():
            await faq_io.import_entries(s, data)
    assert message in str(err.value)
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(FaqEntry)) == 0


def _dcc(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "devops_center", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cli_import_export_reindex(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"
    runner.upgrade(url)
    env = {"DATABASE_URL": url, "DCC_VAR_DIR": str(tmp_path / "var"), "DCC_CONFIG": ""}
    source = tmp_path / "faq.json"
    source.write_text(json.dumps(ENTRIES, ensure_ascii=False), encoding="utf-8")

    done = _dcc("faq", "import", str(source), env=env)
    assert done.returncode == 0, done.stderr
    assert "3 created, 0 updated, 0 unchanged, 1 translations paired" in done.stdout
    assert "0 created, 0 updated, 3 unchanged" in _dcc("faq", "import", str(source), env=env).stdout

    exported = _dcc("faq", "export", env=env)
    assert json.loads(exported.stdout)[1]["translation_of"] == "How do I swap a shift?"

    status = _dcc("brain", "status", env=env)
    assert "faq: 3 documents, vectors of use-multilingual-v3" in status.stdout
    reindex = _dcc("brain", "reindex", env=env)
    assert "faq: 3 entries, 0 (re)indexed, 0 removed" in reindex.stdout

    bad = tmp_path / "bad.json"
    bad.write_text('[{"question": "x"}]', encoding="utf-8")
    refused = _dcc("faq", "import", str(bad), env=env)
    assert refused.returncode == 1
    assert "entry 1 ('x')" in refused.stderr and "nothing imported" in refused.stderr


async def test_documents_written_by_the_cli_are_the_brains(sessionmaker: Any, model: str) -> None:
    """The import's index step writes one document per changed entry (same transaction)."""
    from devops_center.brain import index

    async with sessionmaker() as s, s.begin():
        report = await faq_io.import_entries(s, ENTRIES)
        for faq_id in report.changed_ids:
            await index.index_faq(s, faq_id, model=model)
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(BrainDocument)) == 3
