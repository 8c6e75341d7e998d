"""Every user-facing string marked in code or templates has its Russian text."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from devops_center import i18n

ROOT = Path(__file__).resolve().parents[1]
KEYWORDS = {
    "gettext": (2,),
    "ngettext": (2, 3),
    "pgettext": ((2, "c"), 3),
    "lazy": None,
    "_": None,
    "_n": (1, 2),
    "_p": ((1, "c"), 2),
}


def _extracted() -> dict[str, str]:
    found: dict[str, str] = {}
    method_map = [
        ("src/devops_center/**.py", "python"),
        ("src/devops_center/web/templates/**.html", "jinja2"),
    ]
    for filename, _lineno, message, _comments, _ctx in extract_from_dir(
        str(ROOT), method_map=method_map, keywords=KEYWORDS
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found[msgid] = filename
    return found


def _russian() -> dict[str, str]:
    out: dict[str, str] = {}
    for po in i18n.catalog_files("ru"):
        with po.open("rb") as fh:
            for msg in read_po(fh, locale="ru"):
                if msg.id:
                    key = msg.id[0] if isinstance(msg.id, tuple) else msg.id
                    text = msg.string[0] if isinstance(msg.string, tuple) else msg.string
                    out[key] = text or ""
    return out


def test_every_marked_string_has_a_russian_translation() -> None:
    found = _extracted()
    assert len(found) > 40
    ru = _russian()
    missing = sorted(f"{where}: {msgid!r}" for msgid, where in found.items() if not ru.get(msgid))
    assert not missing, "untranslated strings:\n" + "\n".join(missing)


def test_no_message_has_two_russian_translations() -> None:
    """The catalogs are merged into one: the same msgid (in the same context) translated
    two ways in two files shows whichever file merges last, on every page."""
    seen: dict[tuple[str | None, str], tuple[str, object]] = {}
    clashes = []
    for po in i18n.catalog_files("ru"):
        with po.open("rb") as fh:
            for msg in read_po(fh, locale="ru"):
                if not msg.id:
                    continue
                key = (msg.context, msg.id[0] if isinstance(msg.id, tuple) else msg.id)
                text = tuple(msg.string) if isinstance(msg.string, tuple | list) else msg.string
                first = seen.setdefault(key, (po.name, text))
                if first[1] != text:
                    clashes.append(f"{key}: {first[0]} {first[1]!r} / {po.name} {text!r}")
    assert not clashes, "give one translation or a msgctxt:\n" + "\n".join(clashes)


def test_placeholders_survive_translation() -> None:
    import re

    ru = _russian()
    for msgid, text in ru.items():
        if text:
            assert sorted(re.findall(r"%\(\w+\)s", msgid)) == sorted(
                re.findall(r"%\(\w+\)s", text)
            ), msgid


def test_gettext_and_plurals() -> None:
    assert i18n.gettext("ru", "Sign in") == "Войти"
    assert i18n.gettext("en", "Sign in") == "Sign in"
    assert i18n.gettext("ru", "Hello, %(name)s!", name="Оля") == "Здравствуйте, Оля!"


def test_language_negotiation() -> None:
    assert i18n.negotiate_accept_language("ru-RU,ru;q=0.9,en;q=0.8") == "ru"
    assert i18n.negotiate_accept_language("de-DE,en;q=0.5", "ru") == "en"
    assert i18n.negotiate_accept_language("de-DE", "ru") == "ru"
    assert i18n.negotiate_accept_language("en;q=0.1,ru;q=0.9") == "ru"
    assert i18n.pick_language(None, "ru_RU", default="en") == "ru"


def test_one_date_format_family_in_the_users_time_zone() -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    when = datetime(2026, 12, 4, 15, 4, 5, tzinfo=UTC)
    moscow = ZoneInfo("Europe/Moscow")
    for fmt in ("short", "medium"):  # the pages asked for both; one family now
        assert i18n.format_datetime(when, "en", moscow, fmt) == "Dec 4, 2026, 6:04 PM"
        assert i18n.format_datetime(when, "ru", moscow, fmt) == "4 дек. 2026 г., 18:04"
    naive = when.replace(tzinfo=None)  # SQLite gives naive UTC
    assert i18n.format_datetime(naive, "ru", moscow) == "4 дек. 2026 г., 18:04"
    assert "/" not in i18n.format_datetime(when, "en", moscow, "short")  # no US 12/4/26


def test_ago_uses_russian_plural_forms() -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime(2026, 11, 28, 12, tzinfo=UTC)
    assert i18n.format_ago(now - timedelta(hours=2), "ru", now=now) == "2 часа назад"
    assert i18n.format_ago(now - timedelta(hours=5), "ru", now=now) == "5 часов назад"
    assert i18n.format_ago(now - timedelta(hours=21), "ru", now=now) == "21 час назад"
    assert i18n.format_ago(now - timedelta(hours=2), "en", now=now) == "2 hours ago"
