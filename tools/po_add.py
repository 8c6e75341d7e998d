"""Add or update Russian translations: ``python tools/po_add.py FEATURE < pairs.tsv``.

Each input line is ``msgid<TAB>msgstr``. Writes
``src/devops_center/i18n/locales/ru/LC_MESSAGES/FEATURE.po`` (created when missing),
keeping the entries already there. Run ``pytest tests/test_i18n.py`` afterwards.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

LOCALES = Path(__file__).resolve().parents[1] / "src/devops_center/i18n/locales/ru/LC_MESSAGES"


def main() -> None:
    if len(sys.argv) != 2 or not sys.argv[1].isidentifier():
        raise SystemExit("usage: python tools/po_add.py FEATURE < pairs.tsv")
    path = LOCALES / f"{sys.argv[1]}.po"
    if path.exists():
        with path.open("rb") as fh:
            catalog = read_po(fh, locale="ru")
    else:
        catalog = Catalog(locale="ru", project="devops-center")
    added = 0
    for line in sys.stdin.read().splitlines():
        if not line.strip():
            continue
        msgid, sep, msgstr = line.partition("\t")
        if not sep or not msgstr.strip():
            raise SystemExit(f"not 'msgid<TAB>msgstr': {line!r}")
        catalog.add(msgid, msgstr)
        added += 1
    with path.open("wb") as fh:
        write_po(fh, catalog, width=100, sort_output=True)
    print(f"{path.name}: {added} entr{'y' if added == 1 else 'ies'} written")


if __name__ == "__main__":
    main()
