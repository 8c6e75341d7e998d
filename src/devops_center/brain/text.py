"""Text helpers of the brain: language detection, query words, typo correction."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

_WORD = re.compile(r"\w+", re.UNICODE)

# Words that carry no topic: left out of the lexical query (the model sees them all).
_STOP_TEXT = """a an and are as at be but by can could did do does for from get got has have how i
    if in into is it its me my no not of on or our should so that the their them then
    there this to was we were what when where which who why will with would you your
    а без бы в во вам вас все всё вы где да для до если есть же за и из или к как ко
    когда кто ли мне мой моя мои мы на над не нет но о об от по под при про с со так то
    у уже чем что чтобы это я"""
STOP_WORDS = frozenset(_STOP_TEXT.split())
MAX_QUERY_WORDS = 12


def words(text: str) -> list[str]:
    """Lower-case words of ``text`` (``ё`` read as ``е``), in order."""
    return [w for w in _WORD.findall(text.lower().replace("ё", "е")) if w.strip("_")]


def content_words(text: str) -> list[str]:
    """The query's words without stop words and one-letter words, at most 12."""
    out = [w for w in words(text) if len(w) > 1 and w not in STOP_WORDS]
    return list(dict.fromkeys(out))[:MAX_QUERY_WORDS]


def vocabulary(texts: Iterable[str]) -> Counter[str]:
    """Word frequencies of the indexed texts (the dictionary typos are corrected against)."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(w for w in words(text) if len(w) > 2 and not w.isdigit())
    return counts


def _max_edits(word: str) -> int:
    return 1 if len(word) <= 5 else 2


def corrections(query_words: list[str], vocab: Counter[str], choices: list[str]) -> dict[str, str]:
    """For each word the dictionary does not know, the closest word it does know.

    At most one edit for words of up to 5 letters, two for longer ones (a transposition
    counts as two, so "пароьл" finds "пароль" but "it" never becomes "at"); words of
    fewer than 4 letters are left alone. Ties go to the more frequent word. ``choices``
    is ``list(vocab)``, passed in so that it is built once per dictionary.
    """
    out: dict[str, str] = {}
    for word in query_words:
        if len(word) < 4 or word in vocab or word.isdigit():
            continue
        limit = _max_edits(word)
        found = process.extract(
            word, choices, scorer=Levenshtein.distance, score_cutoff=limit, limit=5
        )
        if found:
            best = min(found, key=lambda m: (m[1], -vocab[m[0]]))
            out[word] = best[0]
    return out
