"""One set of gettext catalogs (ru, en) for the web, the bot and the digests.

Source strings (msgids) are English; ``locales/ru/LC_MESSAGES/*.po`` hold the Russian,
one file per feature (``core.po``, ``support.po`` …), merged into one catalog. They are
compiled in memory from the ``.po`` files on first use. ``tests/test_i18n.py`` fails on
any marked string without a Russian translation.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, lru_cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_time, format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
SUPPORTED = ("ru", "en")
LANGUAGE_NAMES = {"ru": "Русский", "en": "English"}


def catalog_files(lang: str) -> list[Path]:
    """Every ``*.po`` of a language: one file per feature, merged into one catalog."""
    return sorted((LOCALES_DIR / lang / "LC_MESSAGES").glob("*.po"))


@cache
def translations(lang: str) -> Translations:
    lang = lang if lang in SUPPORTED else "en"
    merged = Translations()
    for po in catalog_files(lang):
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=lang)
        buf = io.BytesIO()
        write_mo(buf, catalog)
        buf.seek(0)
        part = Translations(buf)
        if isinstance(merged, Translations) and not merged._catalog:  # first file
            merged = part
        else:
            merged.merge(part)
    return merged


def gettext(lang: str, message: str, /, **params: object) -> str:
    text = translations(lang).gettext(message)
    return text % params if params else text


def pgettext(lang: str, context: str, message: str, /, **params: object) -> str:
    """A message whose translation depends on ``context`` (a bug's status is masculine
    in Russian, «баг»; an incident's is feminine)."""
    text = str(translations(lang).pgettext(context, message))
    return text % params if params else text


def ngettext(lang: str, singular: str, plural: str, n: int, /, **params: object) -> str:
    text = translations(lang).ngettext(singular, plural, n)
    return text % {"num": n, **params}


def lazy(message: str) -> str:
    """Mark a string for extraction; translate it later with :func:`gettext`."""
    return message


def pick_language(*candidates: str | None, default: str = "en") -> str:
    """The first supported language among the candidates (profile, Telegram, browser…)."""
    for cand in candidates:
        if not cand:
            continue
        code = cand.replace("_", "-").split("-")[0].strip().lower()
        if code in SUPPORTED:
            return code
    return default if default in SUPPORTED else "en"


def negotiate_accept_language(header: str | None, default: str = "en") -> str:
    """Pick ru or en from an Accept-Language header by q-value."""
    if not header:
        return default
    scored: list[tuple[float, int, str]] = []
    for idx, part in enumerate(header.split(",")):
        piece = part.strip()
        if not piece:
            continue
        tag, _, params = piece.partition(";")
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        scored.append((-q, idx, tag))
    for neg_q, _idx, tag in sorted(scored):
        if neg_q >= 0:
            continue
        code = tag.split("-")[0].strip().lower()
        if code in SUPPORTED:
            return code
    return default


def format_ago(when: datetime, lang: str, *, now: datetime) -> str:
    """“2 hours ago” / “2 часа назад”, with the language's own plural forms."""
    return _ago(round((when - now).total_seconds()), lang)


# Babel builds each text from the locale's patterns every call; a page of deployment
# rows asks the same few dates, times and durations again and again.
@lru_cache(maxsize=4096)
def _ago(seconds: int, lang: str) -> str:
    return format_timedelta(
        timedelta(seconds=seconds), add_direction=True, locale=Locale.parse(lang), threshold=0.9
    )


@lru_cache(maxsize=4096)
def _medium_date(day: date, lang: str) -> str:
    return format_date(day, format="medium", locale=lang)


@lru_cache(maxsize=4096)
def _short_time(hour: int, minute: int, lang: str) -> str:
    return format_time(time(hour, minute), format="short", locale=lang)


def format_datetime(when: datetime, lang: str, tz: object, fmt: str = "medium") -> str:
    """One format family everywhere: the language's medium date and its short time in
    ``tz`` ('Dec 4, 2026, 3:04 PM', '4 дек. 2026 г., 15:04'); Babel's "short" date was
    the US '12/4/26' in English. ``fmt`` is kept for the callers; "date" drops the time."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    moment = when.astimezone(tz)  # type: ignore[arg-type]
    day = _medium_date(moment.date(), lang)
    if fmt == "date":
        return day
    return f"{day}, {_short_time(moment.hour, moment.minute, lang)}"
