"""FAQ full-text search: SQLite FTS5 and PostgreSQL ``tsvector``, ranked, best first.

SQLite: the external-content FTS5 table ``faq_fts`` (question, answer) kept in step with
``faq_entries`` by triggers, ``unicode61`` + ``porter`` (English stemming); Russian words
are reduced to a stem by :func:`_ru_stem` and searched as prefixes.

PostgreSQL: two partial GIN expression indexes, ``to_tsvector('russian', …)`` for Russian
entries and ``to_tsvector('english', …)`` for English ones, queried with
``websearch_to_tsquery`` and ranked with ``ts_rank``. Where the server lacks a
configuration the ``simple`` one is used.

The schema objects are created by migration 0001 (``SQLITE_DDL`` / ``postgres_ddl``);
their names start with ``faq_fts`` so that autogenerate ignores them.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

SQLITE_DDL = [
    "CREATE VIRTUAL TABLE faq_fts USING fts5(question, answer, content='faq_entries', "
    "content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER faq_fts_ai AFTER INSERT ON faq_entries BEGIN "
    "INSERT INTO faq_fts(rowid, question, answer) VALUES (new.id, new.question, new.answer); "
    "END",
    "CREATE TRIGGER faq_fts_ad AFTER DELETE ON faq_entries BEGIN "
    "INSERT INTO faq_fts(faq_fts, rowid, question, answer) "
    "VALUES ('delete', old.id, old.question, old.answer); END",
    "CREATE TRIGGER faq_fts_au AFTER UPDATE OF question, answer ON faq_entries BEGIN "
    "INSERT INTO faq_fts(faq_fts, rowid, question, answer) "
    "VALUES ('delete', old.id, old.question, old.answer); "
    "INSERT INTO faq_fts(rowid, question, answer) VALUES (new.id, new.question, new.answer); "
    "END",
    "INSERT INTO faq_fts(faq_fts) VALUES ('rebuild')",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS faq_fts_au",
    "DROP TRIGGER IF EXISTS faq_fts_ad",
    "DROP TRIGGER IF EXISTS faq_fts_ai",
    "DROP TABLE IF EXISTS faq_fts",
]

PG_CONFIGS = {"ru": "russian", "en": "english"}
# Weighted document: the question counts more than the answer.
_PG_DOC = (
    "setweight(to_tsvector('{cfg}', question), 'A') || setweight(to_tsvector('{cfg}', answer), 'B')"
)


def postgres_ddl(available: set[str]) -> list[str]:
    out = []
    for lang, cfg in PG_CONFIGS.items():
        cfg = cfg if cfg in available else "simple"
        doc = _PG_DOC.format(cfg=cfg)
        out.append(
            f"CREATE INDEX faq_fts_{lang} ON faq_entries USING gin (({doc})) "
            f"WHERE language = '{lang}'"
        )
    return out


POSTGRES_DROP = ["DROP INDEX IF EXISTS faq_fts_ru", "DROP INDEX IF EXISTS faq_fts_en"]

_WORD_RE = re.compile(r"\w+", re.UNICODE)
_RU_ENDINGS = sorted(
    [
        "иями",
        "ями",
        "ами",
        "ией",
        "ием",
        "иях",
        "ого",
        "его",
        "ому",
        "ему",
        "ыми",
        "ими",
        "ешь",
        "ишь",
        "ете",
        "ите",
        "ают",
        "уют",
        "ят",
        "ат",
        "ть",
        "ться",
        "ется",
        "ится",
        "ой",
        "ей",
        "ий",
        "ый",
        "ая",
        "яя",
        "ое",
        "ее",
        "ые",
        "ие",
        "ых",
        "их",
        "ую",
        "юю",
        "ом",
        "ем",
        "ам",
        "ям",
        "ах",
        "ях",
        "ов",
        "ев",
        "ию",
        "ия",
        "ье",
        "ья",
        "ьи",
        "ы",
        "и",
        "а",
        "я",
        "о",
        "е",
        "у",
        "ю",
        "ь",
        "й",
    ],
    key=len,
    reverse=True,
)
_CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
MAX_TERMS = 8


def _ru_stem(word: str) -> str:
    """A light Russian stemmer: drop one common ending, keep at least 3 letters."""
    for ending in _RU_ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[: -len(ending)]
    return word


def terms(query: str) -> list[str]:
    """The query's words, lower-cased, at most :data:`MAX_TERMS`, each at most 40 chars."""
    words = [w.lower()[:40] for w in _WORD_RE.findall(query or "") if w.strip("_")]
    return words[:MAX_TERMS]


def fts5_query(query: str) -> str | None:
    """A safe FTS5 MATCH expression (every term quoted; all terms required, as prefixes)."""
    parts = []
    for word in terms(query):
        if _CYRILLIC.search(word):
            word = _ru_stem(word.replace("ё", "е"))
        word = word.replace('"', "")
        if word:
            parts.append(f'"{word}"*')
    return " ".join(parts) or None


async def _pg_configs(session: AsyncSession) -> dict[str, str]:
    rows = await session.execute(
        text("SELECT cfgname FROM pg_ts_config WHERE cfgname IN ('russian', 'english')")
    )
    have = {name for (name,) in rows}
    return {lang: cfg if cfg in have else "simple" for lang, cfg in PG_CONFIGS.items()}


async def search_ids(
    session: AsyncSession, *, query: str, language: str | None, limit: int
) -> list[int]:
    """Ids of matching FAQ entries, best first (ties: more helpful, then older)."""
    if session.get_bind().dialect.name == "postgresql":
        return await _search_postgres(session, query=query, language=language, limit=limit)
    return await _search_sqlite(session, query=query, language=language, limit=limit)


async def _search_sqlite(
    session: AsyncSession, *, query: str, language: str | None, limit: int
) -> list[int]:
    match = fts5_query(query)
    if not match:
        return []
    params: dict[str, Any] = {"q": match, "limit": limit}
    where_lang = ""
    if language:
        where_lang = "AND e.language = :lang"
        params["lang"] = language
    sql = text(
        "SELECT e.id FROM faq_fts JOIN faq_entries e ON e.id = faq_fts.rowid "  # noqa: S608  # nosec B608 (constants only; user input is bound)
        f"WHERE faq_fts MATCH :q {where_lang} "
        "ORDER BY bm25(faq_fts, 2.0, 1.0), e.helpful_count DESC, e.id LIMIT :limit"
    )
    return [row[0] for row in await session.execute(sql, params)]


async def _search_postgres(
    session: AsyncSession, *, query: str, language: str | None, limit: int
) -> list[int]:
    words = terms(query)
    if not words:
        return []
    q = query.strip()[:200]
    # websearch syntax for whole words, plus every word as a prefix (search as you type)
    prefix = " & ".join(f"'{w}':*" for w in words)
    configs = await _pg_configs(session)
    langs = [language] if language in configs else list(configs)
    selects = []
    for lang in langs:
        cfg = configs[lang]
        doc = _PG_DOC.format(cfg=cfg)
        tsq = f"(websearch_to_tsquery('{cfg}', :q) || to_tsquery('{cfg}', :pq))"
        selects.append(
            f"SELECT id, helpful_count, ts_rank({doc}, {tsq}) AS r "  # noqa: S608  # nosec B608 (constants only; user input is bound)
            f"FROM faq_entries WHERE language = '{lang}' AND ({doc}) @@ {tsq}"
        )
    sql = text(
        "SELECT id FROM (" + " UNION ALL ".join(selects) + ") AS hits "  # noqa: S608  # nosec B608 (constants only; user input is bound)
        "ORDER BY r DESC, helpful_count DESC, id LIMIT :limit"
    )
    return [row[0] for row in await session.execute(sql, {"q": q, "pq": prefix, "limit": limit})]
