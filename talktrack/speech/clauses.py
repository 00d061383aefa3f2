"""Split a reply into speakable clauses so playback can start before the whole reply is voiced."""

from __future__ import annotations

import re
import unicodedata

# Breaks only ever fall between whitespace-separated tokens, so numbers ("$1,200", "3.5"),
# times ("10:30"), e-mail addresses and dotted abbreviations can never be cut in half.

_CLOSERS = "\"')]}»”’"
_OPENERS = "\"'([{«“‘"
_DASHES = ("—", "–", "―", "--", "-")

# Titles and Latin shorthands precede more words of the same sentence.
_NEVER_FINAL = frozenset(
    {
        "mr.",
        "mrs.",
        "ms.",
        "dr.",
        "prof.",
        "sr.",
        "jr.",
        "st.",
        "mt.",
        "nos.",
        "vs.",
        "v.",
        "e.g.",
        "i.e.",
        "cf.",
        "approx.",
        "ca.",
        "fig.",
        "ref.",
        "ext.",
        "tel.",
    }
)
# These can end a sentence; they do when the next word starts with a capital letter.
_MAYBE_FINAL = frozenset(
    {
        "etc.",
        "inc.",
        "ltd.",
        "co.",
        "corp.",
        "llc.",
        "plc.",
        "dept.",
        "est.",
        "min.",
        "max.",
        "hr.",
        "hrs.",
        "mins.",
        "sec.",
        "secs.",
        "yr.",
        "yrs.",
        "mo.",
        "mos.",
        "wk.",
        "wks.",
        "jan.",
        "feb.",
        "mar.",
        "apr.",
        "jun.",
        "jul.",
        "aug.",
        "sep.",
        "sept.",
        "oct.",
        "nov.",
        "dec.",
        "mon.",
        "tue.",
        "tues.",
        "wed.",
        "thu.",
        "thur.",
        "thurs.",
        "fri.",
        "sat.",
        "sun.",
        "a.m.",
        "p.m.",
    }
)
_INITIALISM = re.compile(r"^(?:[a-z]\.){2,}$", re.IGNORECASE)  # U.S., U.K., a.m.
_SINGLE_INITIAL = re.compile(r"^[A-Z]\.$")  # the "F." in "John F. Kennedy"
# Splitting before these keeps each half grammatical when a long sentence has no punctuation.
_CONJUNCTIONS = frozenset({"and", "but", "so", "because", "which", "while", "although", "though", "or", "whereas"})

_QUOTE_FOLD = str.maketrans("’‘“”", "''\"\"")

_NONE, _CONJ, _SOFT, _SENTENCE = 0, 1, 2, 3


def _core(token: str) -> str:
    """The token without trailing closing quotes/brackets."""
    return token.rstrip(_CLOSERS) or token


def _starts_upper(token: str) -> bool:
    stripped = token.lstrip(_OPENERS)
    return bool(stripped) and stripped[0].isupper()


def _break_after(token: str, next_token: str | None) -> int:
    """How strong a clause boundary is right after `token`."""
    core = _core(token)
    if core.endswith(("...", "…")):
        return _SOFT  # a trailing-off pause, not always the end of a thought
    if core.endswith(("?", "!")):
        return _SENTENCE
    if core.endswith("."):
        lowered = core.lower().lstrip(_OPENERS)
        if lowered == "no.":
            # "No. 5" abbreviates "number"; "No. We don't." is the far likelier reply.
            return _NONE if next_token is not None and next_token[:1].isdigit() else _SENTENCE
        if lowered in _NEVER_FINAL or _SINGLE_INITIAL.match(core.lstrip(_OPENERS)):
            return _NONE
        if lowered in _MAYBE_FINAL or _INITIALISM.match(lowered):
            return _SENTENCE if next_token is not None and _starts_upper(next_token) else _NONE
        return _SENTENCE
    if core.endswith((",", ";", ":")) or core in _DASHES or core.endswith(_DASHES[:4]):
        return _SOFT
    if next_token is not None and next_token.lower() in _CONJUNCTIONS:
        return _CONJ
    return _NONE


def _split_long(tokens: list[str], strengths: list[int], max_words: int) -> list[list[str]]:
    """Cut a too-long sentence at punctuation, else before a conjunction, else leave it whole."""
    out: list[list[str]] = []
    start = 0
    while len(tokens) - start > max_words:
        cut = _pick_cut(strengths, start, len(tokens), max_words)
        if cut is None:
            break
        out.append(tokens[start:cut])
        start = cut
    out.append(tokens[start:])
    return out


def _pick_cut(strengths: list[int], start: int, end: int, max_words: int) -> int | None:
    """Index to cut before: the latest good break within max_words, else the earliest one after."""
    for level in (_SOFT, _CONJ):
        # strengths[i] describes the gap after token i, so a cut "before i+1".
        gaps = range(start, min(start + max_words, end - 1))
        inside = [i + 1 for i in gaps if strengths[i] >= level]
        if inside:
            return inside[-1]
        beyond = [i + 1 for i in range(start + max_words, end - 1) if strengths[i] >= level]
        if beyond:
            return beyond[0]
    return None


def split_clauses(text: str, *, first_max_words: int = 6, max_words: int = 24) -> list[str]:
    """Split a reply into clauses, the first kept short so it can be voiced and played at once."""
    if first_max_words < 1 or max_words < 1:
        raise ValueError(f"first_max_words={first_max_words} and max_words={max_words} must both be >= 1")
    tokens = text.split()
    if not tokens:
        return []
    strengths = [_break_after(tok, tokens[i + 1] if i + 1 < len(tokens) else None) for i, tok in enumerate(tokens)]

    clauses: list[list[str]] = []
    clause_strengths: list[list[int]] = []
    start = 0
    for i, strength in enumerate(strengths):
        if strength == _SENTENCE or i == len(tokens) - 1:
            sentence, sent_str = tokens[start : i + 1], strengths[start : i + 1]
            offset = 0
            for part in _split_long(sentence, sent_str, max_words):
                clauses.append(part)
                clause_strengths.append(sent_str[offset : offset + len(part)])
                offset += len(part)
            start = i + 1

    first, first_str = clauses[0], clause_strengths[0]
    if len(first) > first_max_words:
        # Latest punctuation break that still keeps the opener short: more audio to play
        # while the next clause is being voiced, and no lone one-word fragment when avoidable.
        cuts = [i + 1 for i in range(min(first_max_words, len(first) - 1)) if first_str[i] >= _SOFT]
        if cuts:
            clauses[0:1] = [first[: cuts[-1]], first[cuts[-1] :]]

    return _merge_unspeakable([" ".join(c) for c in clauses if c])


def _merge_unspeakable(clauses: list[str]) -> list[str]:
    """Attach punctuation-only clauses (a leading "—") to a neighbour: alone they voice nothing."""
    out: list[str] = []
    pending = ""
    for clause in clauses:
        if not any(ch.isalnum() for ch in clause):
            pending = f"{pending} {clause}".strip()
            continue
        out.append(f"{pending} {clause}".strip())
        pending = ""
    if pending:
        if out:
            out[-1] = f"{out[-1]} {pending}"
        else:
            out.append(pending)
    return out


def normalize_for_cache(text: str) -> str:
    """Fold case, typographic quotes and whitespace so equal-sounding phrases share a cache key."""
    folded = unicodedata.normalize("NFKC", text)
    folded = folded.translate(_QUOTE_FOLD)
    return " ".join(folded.casefold().split())
