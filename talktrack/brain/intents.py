"""A small, fast intent matcher for phone transcripts.

Transcripts arrive with fillers ("uh"), stray punctuation, contractions and
split brand names ("Hub Spot"), so both sides are normalised the same way and
compared as weighted token sets: an example scores high when the utterance
contains most of it, rare words count more than common ones, and "not" flips
the match of the words that follow it. Very short phrases also get a
character-trigram score so "yess" or "okey" still land.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from talktrack.brain.intent_examples import ALONE_EXAMPLES, BUILTIN_EXAMPLES, BUILTIN_INTENTS
from talktrack.brain.playbook import Playbook

THRESHOLD = 0.6
# F-beta with beta^2=3: covering the example matters more than the extra words around it.
_BETA2 = 3.0
_NEGATION_PENALTY = 0.3
_STOP_WEIGHT = 0.15
# A question naming something the playbook never mentions ("Do you support SAP?")
# must match an FAQ clearly before its answer is used.
_UNKNOWN_WORD_PENALTY = 0.85


# Intents that outrank others on a near tie: specific beats generic.
_PRIORITY: Mapping[str, int] = {
    "who_is_this": 1,
    "what_is_this_about": 1,
    "repeat": 1,
    "goodbye": 1,
    "are_you_ai": 1,
    "book_meeting": 1,
    "hold": 1,
}
_PLAYBOOK_PRIORITY = 2

_STOPWORDS = frozenset(
    "a an the is are am was were be been i you we it its this that these those to of in on "
    "for and or do does did your my our me us can could would will so just well at with as "
    "by if there their they them he she his her have has had any some about from too also "
    "guys guy actually really like mean bit then than very quite pretty into out over here "
    "all such even still yet".split()
)
# Days and times say when, not what: "Tuesday afternoon works for me" is a yes.
_TIME_WORDS = frozenset(
    "monday tuesday wednesday thursday friday saturday sunday morning afternoon evening tonight "
    "noon am pm oclock".split()
)
_TAG_QUESTION = re.compile(
    r",?\s*\b(doesn'?t|don'?t|isn'?t|aren'?t|won'?t|can'?t|didn'?t|wasn'?t) (it|they|you|we|that|there)\s*\?\s*$", re.I
)
_SENTENCES = re.compile(r"(?<=[.!?])\s+")
_NO_MATCH = frozenset({"statement", "unknown_question", "off_topic", "unclear"})
_NEGATORS = frozenset({"not", "never", "nothing", "nobody"})
_FILLERS = frozenset({"uh", "um", "umm", "uhm", "uhh", "er", "erm", "ah", "ahh", "hmm", "hm", "mm", "mmm", "eh", "oh"})
_QUESTION_WORDS = frozenset(
    "what how does do is are can could would will which who where when why should did "
    "may any anything wonder wondering".split()
)
# Words a question may open with before it asks: "Hey, who won the Super Bowl?"
_OPENERS = frozenset({"hey", "hi", "hello", "wait", "actually", "listen", "look", "quick", "question", "random"})
_LEAD_INS = frozenset({"so", "and", "but", "okay", "yeah", "well", "sorry", "alright", "also"})
_YES_LEAD = frozenset(
    {"yes", "yeah", "yep", "yup", "sure", "absolutely", "definitely", "certainly", "totally", "correct", "exactly"}
)
_NO_LEAD = frozenset({"no", "nope", "nah"})
_LEAD_POLARITY: Mapping[str, str] = {w: "yes" for w in _YES_LEAD} | {w: "no" for w in _NO_LEAD}
_LEAD_WINS_BELOW = 0.85
# A leading "yes"/"no" never overrides these: "Yes, speaking." stays a greeting.
_POLARITY = frozenset({"yes", "no", "maybe", "backchannel", "greeting"})
_NOT_IN_QUESTIONS = frozenset({"yes", "no", "maybe", "backchannel"})
# Intents that only make sense as a question: "I'm the one who decides" is an answer.
_QUESTIONS_ONLY = frozenset({"who_is_this"})

# Words that mark a question as being about the product even when no FAQ matches,
# so it gets the careful abstain line rather than the off-topic deflection.
_PRODUCT_WORDS = frozenset(
    "price pricing cost costs plan plans license contract discount support supports handle "
    "integrate integration integrations connect sync work works cover covers include offer "
    "feature features api data security secure compliance compliant certified certification "
    "gdpr hipaa iso sso saml sla uptime backup backups restore restores recovery product "
    "platform tool software app apps service install setup onboarding customers customer "
    "storage encrypt encryption audit hosted cloud migrate migration export import".split()
)
_GENERIC = frozenset(
    "time today week day good great people make get know think want need really thing call "
    "later tomorrow now right like say tell go come see look okay yeah yes no not sure thank "
    "thanks please interested busy meeting minute second email send back talk got let one "
    "what how who which where when why much many more very lot new every year take long "
    "keep first someone something anything everything only under again another up off "
    "next last".split()
)

_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'"})
_SPLIT_ALNUM = re.compile(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])")
_PUNCT = re.compile(r"[^a-z0-9' ]+")
_WHOLE_WORDS: Mapping[str, str] = {
    "can't": "can not",
    "won't": "will not",
    "shan't": "shall not",
    "ain't": "is not",
    "let's": "let us",
    "y'all": "you all",
    "gonna": "going to",
    "wanna": "want to",
    "gotta": "got to",
    "kinda": "kind of",
    "sorta": "sort of",
    "ok": "okay",
    "k": "okay",
    "okey": "okay",
    "okie": "okay",
    "yea": "yeah",
    "yah": "yeah",
    "ya": "yeah",
    "mmhmm": "mhm",
    "mhmm": "mhm",
    "uhhuh": "mhm",
    "ii": "2",
    "iii": "3",
    "iv": "4",
}
_SUFFIXES = (("n't", "not"), ("'re", "are"), ("'ve", "have"), ("'ll", "will"), ("'d", "would"), ("'m", "am"))
_IS_BASES = frozenset({"it", "that", "what", "who", "there", "here", "he", "she", "where", "how", "when", "why"})
_PAIRS: Mapping[tuple[str, str], str] = {
    ("mm", "hmm"): "mhm",
    ("uh", "huh"): "mhm",
    ("m", "hmm"): "mhm",
    ("mm", "hm"): "mhm",
    ("all", "right"): "alright",
    ("e", "mail"): "email",
    ("a", "i"): "ai",
}
_NUMBERS: Mapping[str, str] = {
    word: str(i)
    for i, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen "
        "fourteen fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
} | {w: str(10 * i) for i, w in enumerate("thirty forty fifty sixty seventy eighty ninety".split(), 3)}
_IRREGULAR: Mapping[str, str] = {
    "using": "use",
    "used": "use",
    "uses": "use",
    "making": "make",
    "having": "have",
    "taking": "take",
    "doing": "do",
    "going": "go",
    "saying": "say",
    "getting": "get",
}
_STEM_RULES = (("ies", "y"), ("ing", ""), ("ed", ""), ("ion", ""), ("es", ""), ("s", ""), ("ly", ""))


@dataclass(frozen=True)
class IntentMatch:
    """The best intent for one utterance; ``example`` is the phrase that matched."""

    intent: str
    score: float
    example: str
    question: bool = False


def normalize(text: str) -> str:
    """Lowercase, drop punctuation, expand contractions and turn number words into digits."""
    return " ".join(_words(text))


def is_question(text: str) -> bool:
    """True for a question mark or a question word at the start ("so how much is it")."""
    if text.rstrip().endswith("?"):
        return True
    words = [w for w in _words(text) if w not in _FILLERS and w not in _LEAD_INS]
    return bool(words) and (words[0] in _QUESTION_WORDS or "wonder" in words or "wondering" in words)


def opens_with_question_word(text: str) -> bool:
    """True when the words themselves ask ("do you support SAP"), not just a rising tone ("sixty people?")."""
    words = [w for w in _words(text) if w not in _FILLERS and w not in _LEAD_INS and w not in _OPENERS]
    return bool(words) and words[0] in _QUESTION_WORDS


def stem(word: str) -> str:
    """A deliberately light stemmer: enough to equate "restores" and "restoring"."""
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if len(word) <= 3 or word.isdigit() or word in _STOPWORDS:
        return word
    for suffix, replacement in _STEM_RULES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word[-2:] in ("ss", "us", "is"):
                continue
            word = word[: -len(suffix)] + replacement
            break
    return word[:-1] if word.endswith("e") and len(word) > 4 else word


class IntentMatcher:
    """Matches utterances against built-in intents and a playbook's objections and FAQ."""

    def __init__(self, playbook: Playbook, *, names: Iterable[str] = (), threshold: float = THRESHOLD) -> None:
        self.threshold = threshold
        phrases = _phrases(playbook, names)
        topical = [f.answer for f in playbook.faq] + [
            playbook.pitch,
            playbook.company.one_liner,
            playbook.company.name,
        ]
        self._vocab = {w for _, text in phrases for w in _words(text)}
        self._vocab |= {w for text in topical for w in _words(text)}
        self._vocab_grams = {w: _trigrams(w) for w in self._vocab if len(w) >= 4}
        alone = {(i, t) for i, texts in ALONE_EXAMPLES.items() for t in texts}
        tokenized = [(intent, text, self._tokens(text)) for intent, text in phrases]

        # Document frequency per intent, not per example: a word repeated across one
        # FAQ's paraphrases ("restore") is what identifies that FAQ.
        by_intent: dict[str, set[str]] = {}
        for intent, _, tokens in tokenized:
            by_intent.setdefault(intent, set()).update(tokens)
        self._intent_count = len(by_intent)
        df = Counter(t for tokens in by_intent.values() for t in tokens)
        self._weights = {t: _idf(t, count, len(by_intent)) for t, count in df.items()}
        self._unknown_weight = 1.0 + math.log(len(by_intent) + 1)
        self._examples = [
            _Example(
                intent,
                text,
                tuple(tokens),
                frozenset(tokens),
                (intent, text) in alone,
                sum(self._weight(t) for t in set(tokens)),
            )
            for intent, text, tokens in tokenized
        ]
        self._alone_vocab: dict[str, set[str]] = {}
        for ex in self._examples:
            if ex.alone:
                self._alone_vocab.setdefault(ex.intent, set()).update(ex.tokens)

        generic = {stem(w) for w in _GENERIC}
        topical_tokens = {t for text in topical for t in self._tokens(text)}
        self._known = set(df) | topical_tokens
        # Names listed in an FAQ answer are interchangeable in its questions: an example
        # "do you back up Jira" also covers "do you back up Zendesk".
        self._swappable = {
            f"faq:{i}": {
                t for t in self._tokens(faq.answer) if t not in _STOPWORDS and not t.isdigit() and t not in generic
            }
            for i, faq in enumerate(playbook.faq)
        }
        domain_texts = [text for intent, text in phrases if intent.startswith("faq:")]
        self._domain = {t for text in domain_texts for t in self._tokens(text)} | topical_tokens
        self._domain |= {stem(w) for w in _PRODUCT_WORDS}
        self._domain -= generic | _STOPWORDS

    def match(self, text: str) -> IntentMatch:
        """The best intent, or one of ``unclear``, ``statement``, ``unknown_question``, ``off_topic``."""
        # "Salesforce already backs it up, doesn't it?" says the statement before the tag.
        text = _TAG_QUESTION.sub(".", text)
        found = self._match(text)
        if found.intent in _NO_MATCH:
            # "Actually, you know what, I'm not interested. Take me off your list.": one sentence
            # can carry the intent that the whole utterance dilutes.
            parts = [p for p in _SENTENCES.split(text) if p.strip()]
            if len(parts) > 1:
                best = max((self._match(p) for p in parts), key=lambda m: (m.intent not in _NO_MATCH, m.score))
                if best.intent not in _NO_MATCH:
                    return best
        return found

    def _match(self, text: str) -> IntentMatch:
        tokens = self._tokens(text)
        question = is_question(text)
        if not tokens:
            return IntentMatch("unclear", 1.0, "", question)
        best = self._best(text, question=question, long=len(tokens) > 2)
        lead = _LEAD_POLARITY.get(tokens[0])
        # "Sure, next week works" is a yes even if "call me next week" half-matches.
        if lead is not None and not question and (best is None or best.score < _LEAD_WINS_BELOW):
            if best is None or best.intent not in _POLARITY:
                return IntentMatch(lead, self.threshold, tokens[0], False)
        if best is not None:
            return IntentMatch(best.intent, best.score, best.example, question)
        if question:
            on_topic = any(t in self._domain for t in tokens)
            intent = "unknown_question" if on_topic else "off_topic"
            return IntentMatch(intent, 0.0, "", True)
        return IntentMatch("statement", 0.0, "", False)

    def rank(self, text: str, limit: int = 3) -> list[IntentMatch]:
        """The best-scoring example per intent, best first (ties go to specific intents)."""
        tokens = self._tokens(text)
        if not tokens:
            return []
        question = is_question(text)
        unknown = question and any(t not in self._known and t not in _STOPWORDS and not t.isdigit() for t in tokens)
        utterance = _Utterance(
            tuple(tokens),
            frozenset(tokens),
            " ".join(tokens),
            unknown,
            sum(self._weight(t) for t in set(tokens)),
        )
        best: dict[str, tuple[float, str]] = {}
        for ex in self._examples:
            score = self._score(utterance, ex)
            if score > best.get(ex.intent, (0.0, ""))[0]:
                best[ex.intent] = (score, ex.text)
        ordered = sorted(
            best.items(),
            key=lambda item: item[1][0] + 0.05 * self._priority(item[0]),
            reverse=True,
        )
        return [IntentMatch(i, round(s, 3), e, question) for i, (s, e) in ordered[:limit]]

    def _best(self, text: str, *, question: bool, long: bool) -> IntentMatch | None:
        for candidate in self.rank(text, limit=self._intent_count):
            if candidate.score < self.threshold:
                return None
            # "Does it work with Oracle?" must not count as "that works".
            if question and long and candidate.intent in _NOT_IN_QUESTIONS:
                continue
            if not question and candidate.intent in _QUESTIONS_ONLY:
                continue
            return candidate
        return None

    def _priority(self, intent: str) -> int:
        if intent in BUILTIN_INTENTS:
            return _PRIORITY.get(intent, 0)
        return _PLAYBOOK_PRIORITY

    def _weight(self, token: str) -> float:
        weight = self._weights.get(token)
        if weight is None:
            return _STOP_WEIGHT if token in _STOPWORDS or token in _TIME_WORDS else self._unknown_weight
        return weight

    def _tokens(self, text: str) -> list[str]:
        words = [w for w in _words(text) if w not in _FILLERS]
        merged: list[str] = []
        i = 0
        while i < len(words):
            # Transcribers split brand names ("hub spot"); rejoin pairs the playbook knows.
            if i + 1 < len(words) and words[i] + words[i + 1] in self._vocab:
                merged.append(words[i] + words[i + 1])
                i += 2
                continue
            merged.append(self._correct(words[i]))
            i += 1
        return [stem(w) for w in merged]

    def _correct(self, word: str) -> str:
        if len(word) < 6 or word in self._vocab or word.isdigit():
            return word
        grams = _trigrams(word)
        best, best_score = word, 0.75
        for candidate, candidate_grams in self._vocab_grams.items():
            if abs(len(candidate) - len(word)) <= 2:
                score = _dice(grams, candidate_grams)
                if score > best_score:
                    best, best_score = candidate, score
        return best

    def _score(self, utt: _Utterance, ex: _Example) -> float:
        short = 0.0
        if len(utt.tokens) <= 2 and len(ex.tokens) <= 2:
            short = 0.9 * _dice(_trigrams(utt.text), _trigrams(ex.text))
        if ex.alone and not utt.token_set <= self._alone_vocab[ex.intent]:
            return short if utt.tokens == ex.tokens else 0.0
        common = utt.token_set & ex.token_set
        if not common:
            return short
        on_example = on_utterance = sum(self._weight(t) for t in common)
        swappable = self._swappable.get(ex.intent)
        if swappable:
            missing = sorted(t for t in ex.token_set - common if t in swappable)
            spare = sorted(t for t in utt.token_set - common if t in swappable)
            pairs = min(len(missing), len(spare))
            on_example += sum(self._weight(t) for t in missing[:pairs])
            on_utterance += sum(self._weight(t) for t in spare[:pairs])
        recall = on_example / ex.weight
        precision = on_utterance / utt.weight
        score = (1 + _BETA2) * precision * recall / (_BETA2 * precision + recall)
        if _negated(utt.tokens, ex.tokens, common):
            score *= _NEGATION_PENALTY
        if utt.unknown and ex.intent not in BUILTIN_INTENTS:
            score *= _UNKNOWN_WORD_PENALTY
        return max(score, short)


@dataclass(frozen=True)
class _Example:
    intent: str
    text: str
    tokens: tuple[str, ...]
    token_set: frozenset[str]
    alone: bool
    weight: float


@dataclass(frozen=True)
class _Utterance:
    tokens: tuple[str, ...]
    token_set: frozenset[str]
    text: str
    unknown: bool  # a question naming a word the playbook never uses
    weight: float


def _phrases(playbook: Playbook, names: Iterable[str]) -> list[tuple[str, str]]:
    """(intent, example) pairs: built-ins, the prospect's name, objections, then FAQ."""
    phrases = [(i, t) for i, texts in BUILTIN_EXAMPLES.items() for t in texts]
    phrases += [(i, t) for i, texts in ALONE_EXAMPLES.items() for t in texts]
    for name in names:
        first = name.strip().lower()
        if first:
            phrases += [
                ("greeting", f"this is {first}"),
                ("greeting", f"{first} speaking"),
                ("greeting", f"hi this is {first}"),
            ]
    phrases.append(("what_is_this_about", f"what is {playbook.company.name}"))
    for objection in playbook.objections:
        phrases += [(objection.intent, text) for text in objection.examples]
    for i, faq in enumerate(playbook.faq):
        phrases += [(f"faq:{i}", text) for text in (faq.question, *faq.examples)]
    return phrases


def _words(text: str) -> list[str]:
    lowered = _SPLIT_ALNUM.sub(" ", text.lower().translate(_QUOTES))
    raw = _PUNCT.sub(" ", lowered).split()
    words: list[str] = []
    for token in raw:
        words.extend(_expand(token))
    out: list[str] = []
    for word in words:
        pair = _PAIRS.get((out[-1], word)) if out else None
        if pair is not None:
            out[-1] = pair
        else:
            out.append(_NUMBERS.get(word, word))
    return out


def _expand(token: str) -> list[str]:
    if token in _WHOLE_WORDS:
        return _WHOLE_WORDS[token].split()
    for suffix, full in _SUFFIXES:
        if token.endswith(suffix) and len(token) > len(suffix):
            return [token[: -len(suffix)].strip("'"), full]
    if token.endswith("'s"):
        base = token[:-2].strip("'")
        return [base, "is"] if base in _IS_BASES else [base]
    stripped = token.strip("'").replace("'", "")
    return [stripped] if stripped else []


def _negated(utterance: Sequence[str], example: Sequence[str], common: AbstractSet[str]) -> bool:
    # A negator on one side only, shortly before a shared word: "not sure" is not "sure",
    # and "right now it's manual" is not "not right now".
    for tokens, other in ((utterance, example), (example, utterance)):
        for i, word in enumerate(tokens):
            if word in _NEGATORS and word not in other:
                if any(t in common for t in tokens[i + 1 : i + 4]):
                    return True
    return False


def _idf(token: str, count: int, n: int) -> float:
    weight = 1.0 + math.log((n + 1) / (count + 1))
    return min(weight, _STOP_WEIGHT) if token in _STOPWORDS or token in _TIME_WORDS else weight


def _trigrams(text: str) -> set[str]:
    padded = f"  {text} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def _dice(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return 2 * len(a & b) / (len(a) + len(b))
