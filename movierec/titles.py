"""MovieLens titles as people type them: accents, case and punctuation aside, and the trailing
article MovieLens puts after the name ("Matrix, The (1999)"). Movie search and the series
check of neighbour quality both read titles through here."""

from __future__ import annotations

import re
import unicodedata

# The articles MovieLens moves behind a title, in the languages of its titles.
ARTICLES = r"the|a|an|les|la|le|l'|il|el|das|der|die"
# "Name, The (1999) (a.k.a. ...)": the name, its article and the bracketed rest.
MOVED_ARTICLE = re.compile(rf"^(?P<name>.*?), (?P<article>{ARTICLES})(?P<rest>\s*\(.*)?$",
                           re.IGNORECASE)
# An article at the very end of a title whose brackets are already cut off.
TRAILING_ARTICLE = re.compile(rf",\s*({ARTICLES})$", re.IGNORECASE)


def plain_lower(text: str) -> str:
    """``text`` in lower case without accents ("Amélie" -> "amelie")."""
    plain = unicodedata.normalize("NFKD", text)
    return "".join(c for c in plain if not unicodedata.combining(c)).lower()


def normalise_title(text: str) -> str:
    """Lower case, accents and punctuation removed, spaces collapsed ("Amélie" -> "amelie")."""
    return " ".join(re.sub(r"[^\w]+", " ", plain_lower(text)).split())


def title_forms(title: str) -> str:
    """The title and, for "Matrix, The (1999)", also "The Matrix (1999)", normalised."""
    forms = [normalise_title(title)]
    match = MOVED_ARTICLE.match(title)
    if match:
        forms.append(normalise_title(f"{match['article']} {match['name']}{match['rest'] or ''}"))
    return " | ".join(forms)
