"""Film series found from MovieLens titles alone ("Rocky II (1979)", "Star Trek: Generations",
"Police Academy 4: Citizens on Patrol"...), for the series check of neighbour quality.

A title's *stem* is its main title with the year, bracketed alternative titles, articles and
sequel markers (a number, a roman numeral, "Part", "Episode", "Chapter", "3-D", fractions
such as "2 1/2") removed, cut at a subtitle (":" or " - "). Titles with the same stem form a
series when there are at least two of them and at least one carries a sequel marker, so that
remakes that share a title ("Hamlet", 1948 and 1990) are not taken for a series. A one-word
main title before a subtitle ("Henry: Portrait of a Serial Killer") keeps its subtitle in the
stem unless a film has that one word as its whole title ("Halloween" for "Halloween: H20").
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from movierec.titles import TRAILING_ARTICLE, plain_lower

_TAIL_BRACKETS = re.compile(r"(\s*\([^()]*\))+\s*$")
_SUBTITLE = re.compile(r":|\s-\s")
_ROMAN = frozenset({"ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii"})
_WORD_MARKERS = frozenset({"part", "episode", "chapter", "deux", "3d"})
_NUMBER = re.compile(r"\d{1,2}|\d+/\d+")
_LEADING_ARTICLES = ("the", "a", "an")


def _words(text: str) -> list[str]:
    """Lower-case words without accents, apostrophes or "3-D"; fractions kept whole."""
    plain = re.sub(r"\b3-?d\b", " 3d ", plain_lower(text)).replace("'", "")
    return re.sub(r"[^\w/]+", " ", plain).split()


def _is_marker(word: str) -> bool:
    return word in _ROMAN or word in _WORD_MARKERS or _NUMBER.fullmatch(word) is not None


def _strip_markers(words: list[str]) -> tuple[list[str], bool]:
    """Words without trailing sequel markers (one word always stays), and whether any went."""
    words = list(words)
    numbered = False
    while len(words) > 1 and _is_marker(words[-1]):
        words.pop()
        numbered = True
    return words, numbered


def _split_title(title: str) -> tuple[str, str, str]:
    """(main title, subtitle, the whole title as words with a trailing article in front)."""
    base = _TAIL_BRACKETS.sub("", str(title)).strip()
    article = TRAILING_ARTICLE.search(base)
    if article:
        base = base[:article.start()]
    main, *rest = _SUBTITLE.split(base, maxsplit=1)
    subtitle = rest[0] if rest else ""
    whole = ([article.group(1).lower()] if article else []) + _words(base)
    return main, subtitle, " ".join(whole)


def series_stems(titles: Sequence[str]) -> list[tuple[str, bool]]:
    """``(stem, numbered)`` of every title: what it shares with its series, and whether the
    title carries a sequel marker."""
    parsed = [_split_title(t) for t in titles]
    whole_titles = {whole for _, _, whole in parsed}
    stems = []
    for main, subtitle, _ in parsed:
        words = _words(main)
        if words[:1] and words[0] in _LEADING_ARTICLES and len(words) > 1:
            words = words[1:]
        one_word_main = bool(subtitle) and len(words) == 1
        words, numbered = _strip_markers(words)
        sub_words, sub_numbered = _strip_markers(_words(subtitle)) if subtitle else ([], False)
        numbered = numbered or sub_numbered or (sub_words[:1] != [] and
                                                sub_words[0] in _WORD_MARKERS)
        if one_word_main and words[0] not in whole_titles:
            words, _ = _strip_markers(words + [w for w in sub_words if w not in _WORD_MARKERS])
        stems.append((" ".join(words), numbered))
    return stems


def detect_series(titles: Sequence[str]) -> list[str | None]:
    """The series of each title (its stem), or None for a film that belongs to no series."""
    stems = series_stems(titles)
    members: dict[str, int] = {}
    marked: set[str] = set()
    for stem, numbered in stems:
        members[stem] = members.get(stem, 0) + 1
        if numbered:
            marked.add(stem)
    return [stem if stem and members[stem] >= 2 and stem in marked else None
            for stem, _ in stems]
