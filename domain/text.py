"""Text normalisation for search: lower case, accents removed, digits-only phones."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["fold", "name_key", "phone_digits", "normalize_email", "search_terms"]

_SPACES = re.compile(r"\s+")
# Letters that do not decompose under NFKD but that sellers type without the mark.
_EXTRA = str.maketrans({"ß": "ss", "ø": "o", "đ": "d", "ł": "l", "æ": "ae", "œ": "oe", "ı": "i"})


def fold(text: str) -> str:
    """Lower-case and strip diacritics: ``"José Núñez"`` -> ``"jose nunez"``."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_EXTRA))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped).strip()


def name_key(first_name: str, last_name: str) -> str:
    """The folded ``"last first"`` key customers are sorted and searched by."""
    return fold(f"{last_name} {first_name}")


def phone_digits(phone: str | None) -> str | None:
    """Digits only, so ``+34 612-345-678`` matches ``612345678``."""
    if phone is None:
        return None
    digits = re.sub(r"\D", "", phone)
    return digits or None


def normalize_email(email: str | None) -> str | None:
    return email.strip().lower() if email else None


def search_terms(query: str) -> list[str]:
    """Split a free-text query into folded terms, dropping SQL LIKE wildcards."""
    cleaned = fold(query).replace("%", " ").replace("_", " ").replace("\\", " ")
    return [t for t in cleaned.split(" ") if t][:8]
