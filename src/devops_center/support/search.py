"""FAQ full-text search: SQLite FTS5 and PostgreSQL ``tsvector``, ranked, best first.

SQLite: the external-content FTS5 table ``faq_fts`` (question, answer) kept in step with
``faq_entries`` by triggers, ``unicode61`` + ``porter`` (English stemming); Russian words
are reduced to a stem by :func:`_ru_stem` and searched as prefixes.

PostgreSQL: a stored generated ``tsvector`` column ``faq_fts_doc`` (``russian``
configuration for Russian entries, ``english`` for English ones, question weighted above
the answer) with a GIN index, ranked with ``ts_rank``. A query written in web-search
syntax (quotes, ``or``, ``-word``) goes through ``websearch_to_tsquery``; plain words (search
as you type) through ``to_tsquery`` with every word required and the last one a prefix.
Where the server lacks a configuration the ``simple`` one is used.

The schema objects are created by migration 0001 (``SQLITE_DDL`` / ``postgres_ddl``);
their names start with ``faq_fts`` so that autogenerate ignores them (the models do not
describe them).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from devops_center.support.models import FaqEntry

SQLITE_DDL = [
    # language is indexed too, so that the language filter runs inside the full-text
    # query (no join per match); rank = bm25 with the question weighted above the answer.
    "CREATE VIRTUAL TABLE faq_fts USING fts5(question, answer, language, "
    "content='faq_entries', content_rowid='id', "
    "tokenize='porter unicode61 remove_diacritics 2')",
    "INSERT INTO faq_fts(faq_fts, rank) VALUES ('rank', 'bm25(2.0, 1.0, 0.0)')",
    "CREATE TRIGGER faq_fts_ai AFTER INSERT ON faq_entries BEGIN "
    "INSERT INTO faq_fts(rowid, question, answer, language) "
    "VALUES (new.id, new.question, new.answer, new.language); END",
    "CREATE TRIGGER faq_fts_ad AFTER DELETE ON faq_entries BEGIN "
    "INSERT INTO faq_fts(faq_fts, rowid, question, answer, language) "
    "VALUES ('delete', old.id, old.question, old.answer, old.language); END",
    "CREATE TRIGGER faq_fts_au AFTER UPDATE OF question, answer, language ON faq_entries BEGIN "
    "INSERT INTO faq_fts(faq_fts, rowid, question, answer, language) "
    "VALUES ('delete', old.id, old.question, old.answer, old.language); "
    "INSERT INTO faq_fts(rowid, question, answer, language) "
    "VALUES (new.id, new.question, new.answer, new.language); END",
    "INSERT INTO faq_fts(faq_fts) VALUES ('rebuild')",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS faq_fts_au",
    "DROP TRIGGER IF EXISTS faq_fts_ad",
    "DROP TRIGGER IF EXISTS faq_fts_ai",
    "DROP TABLE IF EXISTS faq_fts",
]

PG_CONFIGS = {"ru": "russian", "en": "english"}
PG_COLUMN = "faq_fts_doc"  # stored generated tsvector column, PostgreSQL only


def _pg_doc(cfg: str) -> str:
    """The weighted document of one configuration: the question counts more."""
    return (
        f"setweight(to_tsvector('{cfg}'::regconfig, coalesce(question, '')), 'A') || "
        f"setweight(to_tsvector('{cfg}'::regconfig, coalesce(answer, '')), 'B')"
    )


def pg_configs(available: set[str]) -> dict[str, str]:
    return {lang: cfg if cfg in available else "simple" for lang, cfg in PG_CONFIGS.items()}


def postgres_ddl(available: set[str]) -> list[str]:
    """A stored tsvector per entry in its own language's configuration, and its GIN index."""
    configs = pg_configs(available)
    doc = f"CASE language WHEN 'ru' THEN {_pg_doc(configs['ru'])} ELSE {_pg_doc(configs['en'])} END"
    return [
        f"ALTER TABLE faq_entries ADD COLUMN {PG_COLUMN} tsvector "
        f"GENERATED ALWAYS AS ({doc}) STORED",
        f"CREATE INDEX faq_fts_gin ON faq_entries USING gin ({PG_COLUMN})",
    ]


POSTGRES_DROP = [
    "DROP INDEX IF EXISTS faq_fts_gin",
    f"ALTER TABLE faq_entries DROP COLUMN IF EXISTS {PG_COLUMN}",
]

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
_WEBSEARCH_SYNTAX = re.compile(r'"|(^|\s)-\w|\s(or|OR)\s')
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


def _fts5_term(word: str) -> str:
    if _CYRILLIC.search(word):
        word = _ru_stem(word.replace("ё", "е"))
    return f'"{word}"*'


def fts5_query(query: str) -> str | None:
    """A safe FTS5 MATCH expression: every term quoted and required, as a prefix;
    ``-word`` excludes a word (as in web search)."""
    include: list[str] = []
    exclude: list[str] = []
    for token in (query or "").split():
        target = exclude if token.startswith("-") and len(token) > 1 else include
        target.extend(_fts5_term(w) for w in terms(token))
    include, exclude = include[:MAX_TERMS], exclude[:MAX_TERMS]
    if not include:
        return None
    return " ".join(include) + "".join(f" NOT {t}" for t in exclude)


async def _pg_configs(session: AsyncSession) -> dict[str, str]:
    """The text-search configurations in use, cached on the pooled connection."""
    conn = await session.connection()
    cached = conn.info.get("dcc_faq_fts_configs")
    if cached is None:
        rows = await conn.execute(
            text("SELECT cfgname FROM pg_ts_config WHERE cfgname IN ('russian', 'english')")
        )
        cached = conn.info["dcc_faq_fts_configs"] = pg_configs({name for (name,) in rows})
    return dict(cached)


def _columns(alias: str) -> str:
    return ", ".join(f"{alias}.{c.name}" for c in FaqEntry.__table__.columns)


async def search_statement(
    session: AsyncSession, *, query: str, language: str | None, limit: int
) -> tuple[TextClause, dict[str, Any]] | None:
    """One SQL statement returning the matching ``faq_entries`` rows, best first.

    Ties are broken by more helpful votes, then the older entry. None when the query has
    no words.
    """
    if session.get_bind().dialect.name == "postgresql":
        return await _postgres_statement(session, query=query, language=language, limit=limit)
    return _sqlite_statement(query=query, language=language, limit=limit)


async def search_ids(
    session: AsyncSession, *, query: str, language: str | None, limit: int
) -> list[int]:
    """Ids of matching FAQ entries, best first (the bare query, as the benchmark runs it)."""
    built = await search_statement(session, query=query, language=language, limit=limit)
    if built is None:
        return []
    return [row.id for row in await session.execute(*built)]


def _sqlite_statement(
    *, query: str, language: str | None, limit: int
) -> tuple[TextClause, dict[str, Any]] | None:
    match = fts5_query(query)
    if not match:
        return None
    match = "{question answer} : (" + match + ")"
    if language in ("ru", "en"):
        match = f'language : "{language}" AND {match}'
    # The best matches by bm25 inside FTS5, then their rows; ties: more helpful first.
    sql = text(
        f"SELECT {_columns('e')} FROM (SELECT rowid, rank FROM faq_fts "  # noqa: S608  # nosec B608 (constants only; user input is bound)
        "WHERE faq_fts MATCH :q ORDER BY rank LIMIT :limit) AS hits "
        "JOIN faq_entries e ON e.id = hits.rowid "
        "ORDER BY hits.rank, e.helpful_count DESC, e.id"
    )
    return sql, {"q": match, "limit": limit}


async def _postgres_statement(
    session: AsyncSession, *, query: str, language: str | None, limit: int
) -> tuple[TextClause, dict[str, Any]] | None:
    words = terms(query)
    if not words:
        return None
    q = query.strip()[:200]
    configs = await _pg_configs(session)
    langs = [language] if language in configs else list(configs)
    params: dict[str, Any] = {"limit": limit}
    if _WEBSEARCH_SYNTAX.search(q):
        # quotes, "or", -exclusion: the user means web-search syntax
        params["q"] = q
        make = "websearch_to_tsquery('{cfg}', :q)"
    else:
        # search as you type: every word, the last one also as a prefix
        head, last = words[:-1], words[-1]
        params["q"] = " & ".join([*(f"'{w}'" for w in head), f"'{last}':*"])
        make = "to_tsquery('{cfg}', :q)"
    selects = []
    for lang in langs:
        cfg = configs[lang]
        tsq = make.format(cfg=cfg)
        selects.append(
            f"SELECT {_columns('e')}, ts_rank(e.{PG_COLUMN}, {tsq}) AS fts_rank "  # noqa: S608  # nosec B608 (constants only; user input is bound)
            f"FROM faq_entries e WHERE e.language = '{lang}' AND e.{PG_COLUMN} @@ {tsq}"
        )
    sql = text(
        " UNION ALL ".join(selects) + " ORDER BY fts_rank DESC, helpful_count DESC, id LIMIT :limit"
    )
    return sql, params


async def any_word_ids(
    session: AsyncSession,
    *,
    words: list[str],
    limit: int,
    category: str | None = None,
) -> list[int]:
    """Ids of FAQ entries (every language) matching ANY of ``words``, best first.

    The support brain's lexical signal: ranked like :func:`search_statement` (bm25 /
    ``ts_rank``, the question above the answer, every word a prefix, Russian words
    stemmed) but with OR between the words, so that a long question still finds the
    entries that share a few of its words. ``words`` are plain lower-case words (the
    caller drops stop words and adds typo corrections).
    """
    words = [
        w
        for w in dict.fromkeys(w.lower()[:40] for w in words)
        if _WORD_RE.fullmatch(w) and w.strip("_")
    ][: MAX_TERMS * 2]
    if not words:
        return []
    params: dict[str, Any] = {"limit": limit}
    where_category = ""
    if category:
        params["category"] = category
        where_category = " AND e.category = :category"
    if session.get_bind().dialect.name == "postgresql":
        configs = await _pg_configs(session)
        params["q"] = " | ".join(f"'{w}':*" for w in words)
        selects = [
            f"SELECT e.id, ts_rank(e.{PG_COLUMN}, to_tsquery('{cfg}', :q)) AS r "  # noqa: S608  # nosec B608 (constants only; user input is bound)
            f"FROM faq_entries e WHERE e.language = '{lang}' "
            f"AND e.{PG_COLUMN} @@ to_tsquery('{cfg}', :q){where_category}"
            for lang, cfg in configs.items()
        ]
        sql = text(" UNION ALL ".join(selects) + " ORDER BY r DESC, id LIMIT :limit")
    else:
        params["q"] = "{question answer} : (" + " OR ".join(_fts5_term(w) for w in words) + ")"
        sql = text(
            "SELECT e.id FROM faq_fts JOIN faq_entries e ON e.id = faq_fts.rowid "  # noqa: S608  # nosec B608 (constants only; user input is bound)
            f"WHERE faq_fts MATCH :q{where_category} ORDER BY faq_fts.rank, e.id LIMIT :limit"
        )
    return [row[0] for row in await session.execute(sql, params)]


async def all_words_ids(session: AsyncSession, *, words: list[str], limit: int) -> list[int]:
    """Ids of FAQ entries (every language) holding EVERY one of ``words`` (prefixes,
    stemmed), best first: :func:`search_statement`'s match without its columns."""
    words = [
        w
        for w in dict.fromkeys(w.lower()[:40] for w in words)
        if _WORD_RE.fullmatch(w) and w.strip("_")
    ][:MAX_TERMS]
    if not words:
        return []
    params: dict[str, Any] = {"limit": limit}
    if session.get_bind().dialect.name == "postgresql":
        configs = await _pg_configs(session)
        params["q"] = " & ".join(f"'{w}':*" for w in words)
        selects = [
            f"SELECT e.id, ts_rank(e.{PG_COLUMN}, to_tsquery('{cfg}', :q)) AS r "  # noqa: S608  # nosec B608 (constants only; user input is bound)
            f"FROM faq_entries e WHERE e.language = '{lang}' "
            f"AND e.{PG_COLUMN} @@ to_tsquery('{cfg}', :q)"
            for lang, cfg in configs.items()
        ]
        sql = text(" UNION ALL ".join(selects) + " ORDER BY r DESC, id LIMIT :limit")
    else:
        params["q"] = "{question answer} : (" + " ".join(_fts5_term(w) for w in words) + ")"
        sql = text("SELECT rowid FROM faq_fts WHERE faq_fts MATCH :q ORDER BY rank LIMIT :limit")
    return [row[0] for row in await session.execute(sql, params)]
