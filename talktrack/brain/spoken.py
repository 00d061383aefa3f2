"""E-mail addresses and numbers as a speech recogniser writes them, and saying addresses back.

Whisper writes an address the way it was said: "john dot smith at acme dot com",
"j-o-h-n at gmail.com", "dana underscore w at acme logistics dot com". Spoken
symbols become characters, spelled letters are joined and the words of a domain
are run together. Numbers arrive as digits ("5,000") or words ("two hundred and
fifty") and are read to an int; ``words_to_digits`` is shared with the date parser.
"""

from __future__ import annotations

import re

_UNITS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine".split())}
_TEENS = {w: i + 10 for i, w in enumerate("ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen "
                                         "nineteen".split())}  # fmt: skip
_TENS = {w: (i + 2) * 10 for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())}
_SCALES = {"thousand": 1000, "million": 1_000_000}
_ORDINALS = {
    w: i + 1
    for i, w in enumerate(
        "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth fourteenth "
        "fifteenth sixteenth seventeenth eighteenth nineteenth twentieth".split()
    )
} | {"thirtieth": 30}
_NUMBER_WORDS = frozenset(_UNITS) | frozenset(_TEENS) | frozenset(_TENS)
# "5,000", "25", "2.5k": a token that already is a number.
_DIGITS = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(k)?")
_VAGUE = (
    (re.compile(r"\bhalf a dozen\b"), "6"),
    (re.compile(r"\b(?:a )?couple(?: of)?(?= hundred| thousand)"), "2"),
    (re.compile(r"\ba few(?= hundred| thousand)"), "3"),
    (re.compile(r"\ba couple(?: of)?\b"), "2"),
)
_JUST_ME = re.compile(r"\b(?:just|only) (?:me|myself)\b(?! and)|\bmyself only\b")
_NOBODY = re.compile(r"\b(?:none|nobody|no one|not a single)\b")

_SAY = {".": "dot", "_": "underscore", "-": "dash", "+": "plus"}
_SYMBOL_WORDS = (
    (re.compile(r"\s*\b(?:dot|period)\b\s*"), "."),
    (re.compile(r"\s*\b(?:underscore|under score)\b\s*"), "_"),
    (re.compile(r"\s*\b(?:dash|hyphen)\b\s*"), "-"),
    (re.compile(r"\s*\bplus\b\s*"), "+"),
    (re.compile(r"\bdotcom\b"), ".com"),
    (re.compile(r"\bat (?:sign|symbol)\b|@"), " @ "),
)
# Letters spelled one by one: "j-o-h-n", "J.O.H.N.", "j. o. h. n".
_SPELLED = re.compile(r"\b[a-z](?:[.\-] ?[a-z]\b)+\.?")
_DOUBLE = re.compile(r"\bdouble ([a-z])\b")
_EMAIL = re.compile(r"[a-z0-9][a-z0-9._%+-]*@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}")
_LOCAL = re.compile(r"[a-z0-9](?:[a-z0-9._%+-]*[a-z0-9])?")
_DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}")
# Words that introduce an address rather than belong to it.
_LEAD_WORDS = frozenset(
    "is its it my email address me at to sure yes yeah yep ok okay so well the send use reach try thats that "
    "and or please you can could just work personal of on for as be would should write down type put here there "
    "uh um er hmm oh our his her their whats what im were we us out over based located find visit works "
    "office".split()
)
_MAX_WORDS = 2
# Two consonants no English word starts with: "jsmith" is said "J smith", "gmail" is "G mail".
_ONSETS = frozenset(
    "bl br ch cl cr dr dw fl fr gl gr gw kl kn kr ph pl pr ps qu rh sc sh sk sl sm sn sp sq st sw th tr tw wh "
    "wr".split()
)
_AS_WORD = frozenset("com net org edu gov biz info co app dev".split())
# Said as words these would be read as something else ("it's" a lead-in, "dot" a symbol, "ten" a number).
_SPELL_WORDS = (
    _LEAD_WORDS
    | _NUMBER_WORDS
    | frozenset(_ORDINALS)
    | frozenset("dot period dash hyphen underscore plus double sign symbol dotcom hundred thousand million".split())
    | frozenset("dozen couple few half".split())
)
_VOWELS = frozenset("aeiouy")


def words_to_digits(text: str) -> str:
    """Rewrite runs of number words in lower-case, space-separated text as digits ("twenty five" -> "25")."""
    tokens = text.split()
    out: list[str] = []
    total = current = 0
    last = ""  # kind of the previous number token; "" outside a number

    def flush() -> None:
        nonlocal total, current, last
        if last:
            out.append(str(total + current))
        total = current = 0
        last = ""

    skip = -1
    for i, tok in enumerate(tokens):
        if i == skip:
            last = "scale"
            continue
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        joins = last in ("hundred", "scale", "and")
        if tok in _UNITS:
            if not (joins or last == "tens"):
                flush()
            current += _UNITS[tok]
            last = "unit"
        elif tok in _TEENS or tok in _TENS:
            if not joins:
                flush()
            current += _TEENS.get(tok) or _TENS[tok]
            last = "teen" if tok in _TEENS else "tens"
        elif tok in _ORDINALS:
            value = _ORDINALS[tok]
            if not (last == "tens" and value < 10 or joins):
                flush()
            out.append(ordinal(total + current + value))
            total = current = 0
            last = ""
        elif tok == "hundred" and last in ("unit", "teen", "tens", "digits", "a") and current < 100:
            current = max(current, 1) * 100
            last = "hundred"
        elif tok == "dozen" and last in ("unit", "teen", "digits", "a", ""):
            if not last:
                flush()
            current = max(current, 1) * 12
            last = "scale"
        elif tok in _SCALES and last and last != "and":
            total += max(current, 1) * _SCALES[tok]
            current = 0
            last = "scale"
        elif tok == "a" and nxt in ("hundred", "thousand", "million", "dozen"):
            flush()
            current, last = 1, "a"
        elif tok == "and" and last in ("hundred", "scale") and nxt in _NUMBER_WORDS:
            last = "and"
        elif (m := _DIGITS.fullmatch(tok)) is not None:
            flush()
            amount = float(m.group(1).replace(",", "") + "." + (m.group(2) or "0"))
            scale = 1000 if m.group(3) else 1
            if m.group(2) and scale == 1 and nxt in _SCALES:
                scale, skip = _SCALES[nxt], i + 1  # "2.5 million": the scale word is used up here
            if amount * scale != round(amount * scale):
                out.append(tok)
                continue
            current, last = round(amount * scale), "digits"
        else:
            flush()
            out.append(tok)
    flush()
    return " ".join(out)


def ordinal(n: int) -> str:
    """1 -> "1st", 22 -> "22nd", 13 -> "13th"."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def parse_number(text: str) -> int | None:
    """The first count said in ``text`` ("about fifty" -> 50, "just me" -> 1), or None."""
    t = re.sub(r"[^a-z0-9,.\s]", " ", text.lower().replace("-", " "))
    t = re.sub(r"[,.](?!\d)", " ", t).replace("no one", "nobody")
    if _JUST_ME.search(t):
        return 1
    for pattern, repl in _VAGUE:
        t = pattern.sub(repl, t)
    for tok in words_to_digits(t).split():
        if tok.isdigit():
            return int(tok)
    return 0 if _NOBODY.search(t) else None


def parse_email(text: str) -> str | None:
    """The e-mail address said in ``text``, lower-cased, or None when there is no plausible one."""
    t = text.lower().replace("’", "'").replace("'", "")
    direct = _EMAIL.search(t)
    if direct:
        return direct.group(0).rstrip(".-")
    t = words_to_digits(_DOUBLE.sub(r"\1\1", t))
    t = _SPELLED.sub(lambda m: re.sub(r"[^a-z]", "", m.group(0)), t)
    for pattern, repl in _SYMBOL_WORDS:
        t = pattern.sub(repl, t)
    words, stops = _tokens(t)
    for i, word in enumerate(words):
        if word not in ("at", "@") or stops[i]:
            continue
        domain = _domain_after(words, stops, i)
        local = _local_before(words, stops, i)
        if domain and local:
            return f"{local}@{domain}"
    return None


def _tokens(text: str) -> tuple[list[str], list[bool]]:
    """Words, and for each whether a pause (comma, full stop) follows it."""
    words: list[str] = []
    stops: list[bool] = []
    for raw in text.split():
        word = raw.strip('"()[]')
        # "J. Smith": the full stop after an initial is not a pause.
        stop = bool(re.search(r"[,;:!?]$|\.$", word)) and not re.fullmatch(r"[a-z]\.", word)
        word = word.rstrip(",;:!?.")
        if word:
            # "john.smith" -> "john", ".", "smith": the same tokens as "john dot smith".
            pieces = [p for p in re.split(r"([._+-])", word) if p]
            words.extend(pieces)
            stops.extend([False] * (len(pieces) - 1) + [stop])
        elif stops:
            stops[-1] = True
    return words, stops


def _domain_after(words: list[str], stops: list[bool], at: int) -> str | None:
    joined = ""
    joins = 0
    for j in range(at + 1, len(words)):
        word = words[j]
        if word in ("at", "@") or (word in _LEAD_WORDS and not joined.endswith(".")):
            return None
        if joined and not (_short(word) or _short(words[j - 1])):
            joins += 1  # "acme logistics dot com": words run together, up to a few
            if joins >= _MAX_WORDS + 1:
                return None
        joined += word
        if "." in joined and _DOMAIN.fullmatch(joined):
            nxt = words[j + 1] if j + 1 < len(words) else ""
            if not nxt.startswith(".") or stops[j]:
                return joined
        if stops[j]:
            return None
    return None


def _local_before(words: list[str], stops: list[bool], at: int) -> str | None:
    parts: list[str] = []
    joins = 0
    for j in range(at - 1, -1, -1):
        word = words[j]
        if stops[j] or word in _LEAD_WORDS or word == "@":
            break
        before = words[j - 1] if j > 0 else ""
        if word in ("a", "i") and parts and not (_short(parts[0]) or _short(before)):
            break  # "write down a bob at ...": an article or "I", not a spelled letter
        # Symbols and spelled characters chain words together: "john dot smith", "j smith", "dana w".
        if parts and not (_short(word) or _short(parts[0]) or _short(before)):
            # Two plain words in a row join only after a lead-in: "my email is john smith at ...".
            if joins + 1 >= _MAX_WORDS or not (j == 0 or stops[j - 1] or before in _LEAD_WORDS):
                break
            joins += 1
        parts.insert(0, word)
    local = "".join(parts).strip("._-+")
    return local if local and _LOCAL.fullmatch(local) and ".." not in local else None


def _short(token: str) -> bool:
    """A symbol, a spelled letter or a digit group."""
    return len(token) == 1 or token.isdigit()


def spell_email(address: str) -> str:
    """How an agent reads ``address`` aloud: "J smith at G mail dot com"."""
    local, _, domain = address.strip().lower().partition("@")
    return f"{_say_part(local)} at {_say_part(domain)}" if domain else _say_part(local)


def _say_part(part: str) -> str:
    words: list[str] = []
    for chunk in re.split(r"([._+-])", part):
        if chunk in _SAY:
            words.append(_SAY[chunk])
        for run in re.findall(r"[a-z]+|\d+|[^a-z\d._+-]+", chunk):
            words.append(" ".join(run) if run.isdigit() else _say_letters(run))
    return " ".join(w for w in words if w)


def _say_letters(run: str) -> str:
    """A word stays a word; initials and unpronounceable runs are spelled as capitals."""
    if run in _AS_WORD:
        return run
    if run in _SPELL_WORDS:
        return " ".join(run.upper())
    spelled: list[str] = []
    while len(run) > 2 and run[0] not in _VOWELS and run[1] not in _VOWELS and run[:2] not in _ONSETS:
        spelled.append(run[0].upper())
        run = run[1:]
    if len(run) <= 2 or not _VOWELS & set(run):
        spelled.extend(run.upper())
        run = ""
    return " ".join([*spelled, run]).strip()
