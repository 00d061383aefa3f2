"""Numbers in text, however they are written: the grounding checks compare what is said with what a source says."""

from __future__ import annotations

import re

_UNITS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen".split()
    )
}
_TENS = {w: 10 * i for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), 2)}
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
_NUMBER_WORDS = _UNITS.keys() | _TENS.keys() | _SCALES.keys()
_TOKENS = re.compile(r"\d+(?:[.,]\d+)*|[a-z]+")
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+")


def numbers_in(text: str) -> set[str]:
    """Every number in ``text``, digits or words, in one canonical spelling ("fourteen" -> "14")."""
    out: set[str] = set()
    run: list[str] = []
    for token in _TOKENS.findall(text.lower()):
        if token[0].isdigit():
            _flush(run, out)
            out.update(_digits(token))
        elif token in _NUMBER_WORDS or _joins(run, token):
            if _starts_new(run, token):
                _flush(run, out)
            run.append(token)
        else:
            _flush(run, out)
    _flush(run, out)
    return out


def _digits(token: str) -> set[str]:
    if _THOUSANDS.fullmatch(token):
        return {_canonical(token.replace(",", ""))}
    return {_canonical(part) for part in token.split(",") if part}


def _canonical(number: str) -> str:
    whole, dot, fraction = number.partition(".")
    if "." in fraction:  # a version such as 1.2.3 stays as written
        return number
    whole = whole.lstrip("0") or "0"
    fraction = fraction.rstrip("0")
    return f"{whole}.{fraction}" if dot and fraction else whole


def _joins(run: list[str], token: str) -> bool:
    """ "point" continues "one point two"; "and" continues "two hundred and five", not "two and three"."""
    if not run:
        return False
    if token == "point":
        return run[-1] in _UNITS or run[-1] in _TENS
    return token == "and" and run[-1] in _SCALES


def _starts_new(run: list[str], token: str) -> bool:
    """ "twenty-four seven" is two numbers: a unit after a unit (or tens after tens) starts a new one."""
    if not run or "point" in run:
        return False
    last = run[-1]
    if token in _UNITS:
        return last in _UNITS or (last in _TENS and _UNITS[token] >= 10)
    if token in _TENS:
        return last in _UNITS or last in _TENS
    return False


def _flush(run: list[str], out: set[str]) -> None:
    while run and run[-1] in ("point", "and"):
        run.pop()
    # A lone "one" is nearly always a pronoun ("the one you use"), not a figure.
    if run and run != ["one"]:
        out.add(_words_value(run))
    run.clear()


def _words_value(words: list[str]) -> str:
    if "point" in words:
        at = words.index("point")
        whole = _words_value(words[:at]) if at else "0"
        digits = "".join(str(_UNITS[w]) for w in words[at + 1 :] if w in _UNITS and _UNITS[w] < 10)
        return _canonical(f"{whole}.{digits}")
    total = current = 0
    for word in words:
        if word in _UNITS:
            current += _UNITS[word]
        elif word in _TENS:
            current += _TENS[word]
        elif word == "hundred":
            current = max(current, 1) * 100
        elif word in _SCALES:
            total += max(current, 1) * _SCALES[word]
            current = 0
    return str(total + current)
