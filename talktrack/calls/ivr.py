"""IVR menus read from their transcript, and the key that serves the call's goal.

`parse_menu` turns what the menu said ("To establish a sales partnership, press one. For an operator,
press zero.", "para español oprima 2", "if you know your party's extension, dial it at any time") into
options; `IvrNavigator` picks a key for each menu it hears and gives up when menus loop: the same menu
twice → the operator, a third time → `ivr_failed`. Pure text in, decisions out; the call sends the keys.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Literal

_KEY_WORDS = {
    "zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9", "star": "*", "pound": "#", "hash": "#",
    "cero": "0", "uno": "1", "dos": "2", "tres": "3", "cuatro": "4", "cinco": "5", "seis": "6",
    "siete": "7", "ocho": "8", "nueve": "9", "asterisco": "*", "numeral": "#", "almohadilla": "#",
}  # fmt: skip
_KEY = r"(?P<key>[0-9*#]|" + "|".join(_KEY_WORDS) + r")"
_VERB = r"(?:press|pressing|dial|push|select|hit|oprima|marque|presione|pulse|digite|teclee)"
_ARTICLE = r"(?:(?:the|el|la)\s+)?(?:(?:number|key|tecla|numero|tecla\s+de)\s+)?"
_VERB_MENTION = re.compile(rf"\b{_VERB}\s+{_ARTICLE}{_KEY}(?![\w])(?:\s+(?:key|now|ahora))?")
# What STT writes for a spoken key right after "press" at the end of a clause: "press to." is "press two".
_HOMOPHONES = {"to": "2", "too": "2", "for": "4", "fore": "4", "won": "1", "ate": "8"}
_HOMOPHONE_KEY = re.compile(rf"\b({_VERB}\s+)(to|too|for|fore|won|ate)(?=\s*(?:[.,;!?]|$))")
# "…, 2 to lock the conference, or 8 to exit" / "Dos para …": a key followed by what it does.
_LIST_MENTION = re.compile(rf"(?:^|,|\bor\b|\bo\b|\bu\b)\s*{_KEY}(?=\s+(?:for|to|para)\b)")
_LEAD = re.compile(r"^\s*(?:,|\bor\b|\bo\b|\bu\b|\bplease\b|\bpor favor\b)*\s*(?:for|to|if|para|si)\b\s*")
_LEAD_WORD = re.compile(r"\b(?:for|to|if|para|si)\b")
_SENTENCES = re.compile(r"(?<=[.;!?])\s+")
_EXTENSION = re.compile(
    r"\b(?:party'?s extension|enter (?:the|an|your party'?s)? ?extension|dial (?:the|an) extension|"
    r"extension (?:number )?(?:at any time|now)|ingrese (?:la|una) extension|marque la extension)\b"
)
_SPELL_NAME = re.compile(
    r"\b(?:first (?:three|3) letters|tres primeras letras)\b.*?\b(?P<part>first name|last name|nombre|apellido)"
)
_INVALID = re.compile(r"\b(?:not a valid|invalid|invalida|no es valid|try again|intente de nuevo)\b")

# In order of preference: a menu with "an operator" and "a customer advocate" gets the operator.
OPERATOR_WORDS = (
    "operator", "operadora", "operador", "receptionist", "recepcion", "front desk", "representative",
    "representante", "agent", "agente", "someone", "a person", "customer advocate", "all other", "other inquiries",
)  # fmt: skip
SALES_WORDS = ("sales", "new customer", "purchase", "buy", "pricing", "partnership", "ventas", "compras")
_DIRECTORY_WORDS = ("directory", "dial by name", "directorio")
_LANGUAGE_WORDS = {"en": ("english", "ingles"), "es": ("spanish", "espanol")}
_KEYPAD = {c: k for k, letters in {"2": "abc", "3": "def", "4": "ghi", "5": "jkl", "6": "mno",
                                    "7": "pqrs", "8": "tuv", "9": "wxyz"}.items() for c in letters}  # fmt: skip


@dataclass(frozen=True)
class MenuOption:
    key: str
    label: str


@dataclass(frozen=True)
class Menu:
    """What one prompt offers; `signature` tells a repeated menu from a new one."""

    options: tuple[MenuOption, ...] = ()
    accepts_extension: bool = False
    spells_name: Literal["first", "last"] | None = None
    invalid: bool = False

    @property
    def signature(self) -> tuple[str, ...]:
        return tuple(f"{o.key}:{o.label}" for o in self.options) + (("ext",) if self.accepts_extension else ())


@dataclass(frozen=True)
class IvrGoal:
    """Who or what the call wants to reach, from its context."""

    contact_name: str = ""
    extension: str = ""
    department_words: tuple[str, ...] = SALES_WORDS
    language: str = "en"


@dataclass(frozen=True)
class IvrAction:
    kind: Literal["keys", "wait", "give_up"]
    keys: str = ""
    reason: str = ""
    # True when nothing later in the menu could serve better (the contact's extension or name): act at once.
    serves_goal: bool = True


def normalize(text: str) -> str:
    """Lower case without accents, so "Español" and "espanol" (as STT may write either) compare equal."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _key(word: str) -> str:
    return _KEY_WORDS.get(word, word)


def _clean_label(text: str) -> str:
    label = _LEAD.sub("", text)
    label = re.split(r",|\b(?:or|o|u)\b(?=\s*(?:[0-9*#]|\w+\s+(?:for|to|para)\b))", label)[0]
    label = re.sub(r"\s+(?:or|o|u)\s*$", "", label)  # the "or" before the next key ("…, or 8 to exit")
    return re.sub(r"\s+", " ", label).strip(" ,.;:")


_Mention = tuple[int, int, str]  # start, end, key


def _mentions_in(sentence: str, menu_started: bool) -> list[_Mention]:
    mentions = [(m.start(), m.end(), _key(m.group("key"))) for m in _VERB_MENTION.finditer(sentence)]
    if mentions or menu_started:
        taken = [(s, e) for s, e, _ in mentions]
        for m in _LIST_MENTION.finditer(sentence):
            start = m.start("key")
            if not any(s <= start < e for s, e in taken):
                mentions.append((start, m.end(), _key(m.group("key"))))
    return sorted(mentions)


def _label_after(sentence: str, mentions: list[_Mention], i: int) -> str:
    """"Press 1 for sales": what follows the key, up to the next one."""
    after = sentence[mentions[i][1] : mentions[i + 1][0] if i + 1 < len(mentions) else len(sentence)]
    return _clean_label(after) if _LEAD.match(after) else ""


def _label_before(sentence: str, mentions: list[_Mention], i: int) -> str:
    """"To establish a sales partnership, press one": the clause before the key, from its last "to"/"for"
    (STT may run the previous sentence into it: "…at any time to establish…")."""
    clauses = [c for c in sentence[mentions[i - 1][1] if i else 0 : mentions[i][0]].split(",") if c.strip()]
    leads = list(_LEAD_WORD.finditer(clauses[-1])) if clauses else []
    return _clean_label(clauses[-1][leads[-1].start() :]) if leads else ""


def _options(sentences: list[str]) -> list[MenuOption]:
    """The menu's options, read the way the menu itself reads them out.

    "…press 1 to speak with…" is ambiguous when STT drops the punctuation ("…a sales partnership press 1
    to speak with a customer…"): the style that gives more keys a "for"/"to" label wins; on a tie, the
    label after the key.
    """
    found: list[tuple[str, list[_Mention]]] = []
    for sentence in sentences:
        found.append((sentence, _mentions_in(sentence, any(m for _, m in found))))
    styles = {}
    for name, label_of in (("after", _label_after), ("before", _label_before)):
        styles[name] = [(m[2], label_of(sentence, ms, i)) for sentence, ms in found for i, m in enumerate(ms)]
    counts = {name: sum(1 for _, label in labels if label) for name, labels in styles.items()}
    chosen = styles["before"] if counts["before"] > counts["after"] else styles["after"]
    # "hang up or press the pound key": a key with no destination is no option.
    return [MenuOption(key, label) for key, label in chosen if label]


def parse_menu(text: str) -> Menu | None:
    """The menu a prompt offers, or None when it offers nothing to press or dial."""
    clean = _HOMOPHONE_KEY.sub(lambda m: m.group(1) + _HOMOPHONES[m.group(2)], normalize(text))
    options = _options(_SENTENCES.split(clean))
    spell = _SPELL_NAME.search(clean)
    spells: Literal["first", "last"] | None = None
    if spell:
        spells = "first" if spell.group("part") in ("first name", "nombre") else "last"
    menu = Menu(tuple(options), bool(_EXTENSION.search(clean)), spells, bool(_INVALID.search(clean)))
    if not (menu.options or menu.accepts_extension or menu.spells_name or menu.invalid):
        return None
    return menu


def keypad_letters(name: str, count: int = 3) -> str:
    """The keys that spell the first `count` letters of a name, as a dial-by-name directory asks."""
    letters = [c for c in normalize(name) if c in _KEYPAD]
    return "".join(_KEYPAD[c] for c in letters[:count])


def _has_any(label: str, words: tuple[str, ...]) -> bool:
    return any(re.search(rf"\b{re.escape(w)}(?:s|es)?\b", label) for w in words)


def choose(menu: Menu, goal: IvrGoal, *, avoid: frozenset[str] = frozenset()) -> IvrAction:
    """The key that serves the goal: the contact (extension, name, directory), the department, the
    call's language, else the operator."""
    options = [o for o in menu.options if o.key not in avoid]
    names = tuple(w for w in normalize(goal.contact_name).split() if len(w) > 1)
    if goal.extension and menu.accepts_extension:
        return IvrAction("keys", goal.extension, f"dialled the contact's extension {goal.extension}")
    if menu.spells_name and names:
        name = names[0] if menu.spells_name == "first" else names[-1]
        return IvrAction("keys", keypad_letters(name), f"spelled {name!r} for the directory")
    for option in options:
        if names and _has_any(option.label, names):
            return IvrAction("keys", option.key, f"the contact's name: {option.label!r}")
    # Weaker matches: a later option may still name the contact, so these wait for the whole menu.
    wanted = (
        # A directory needs a last name to spell.
        (f"the directory, to reach {goal.contact_name}", _DIRECTORY_WORDS if len(names) > 1 else ()),
        ("the department", goal.department_words),
        ("language", _LANGUAGE_WORDS.get(goal.language, ())),
    )
    for reason, words in wanted:
        for option in options:
            if words and _has_any(option.label, words):
                return IvrAction("keys", option.key, f"{reason}: {option.label!r}", serves_goal=False)
    return to_operator(menu, avoid=avoid)


def to_operator(menu: Menu, *, avoid: frozenset[str] = frozenset()) -> IvrAction:
    """The operator's option, else 0 (the usual operator key) unless the menu gives 0 another use."""
    for word in OPERATOR_WORDS:
        for option in menu.options:
            if option.key not in avoid and _has_any(option.label, (word,)):
                return IvrAction("keys", option.key, f"operator: {option.label!r}", serves_goal=False)
    if "0" not in avoid and not any(o.key == "0" for o in menu.options):
        return IvrAction("keys", "0", "no option serves the goal; 0 usually reaches an operator", serves_goal=False)
    return IvrAction("wait", reason="no option serves the goal; waiting on the line", serves_goal=False)


@dataclass
class IvrNavigator:
    """One call's way through a phone tree: a key per menu, the operator when a menu repeats."""

    goal: IvrGoal
    max_menus: int = 8
    history: list[tuple[Menu, IvrAction]] = field(default_factory=list)

    def on_prompt(self, text: str) -> IvrAction | None:
        """The action for a prompt, or None when the prompt is not a menu (a person, a greeting)."""
        action = self.preview(text)
        if action is not None:
            self.commit(text, action)
        return action

    def commit(self, text: str, action: IvrAction) -> None:
        """Record that `action` was taken on this prompt (what loop detection counts)."""
        menu = parse_menu(text)
        if menu is not None:
            self.history.append((menu, action))

    def preview(self, text: str) -> IvrAction | None:
        """What `on_prompt` would do, without recording it: a menu may still be being read out."""
        menu = parse_menu(text)
        if menu is None:
            return None
        pressed = frozenset(a.keys for m, a in self.history if m.signature == menu.signature and a.keys)
        seen = sum(1 for m, _ in self.history if m.signature == menu.signature)
        failures = sum(1 for m, _ in self.history if m.invalid) + menu.invalid
        if len(self.history) >= self.max_menus or seen >= 2 or failures >= 3:
            action = IvrAction("give_up", reason=f"menus loop ({seen + 1} times the same, {failures} rejected)")
        elif seen or menu.invalid:
            action = to_operator(menu, avoid=pressed)
            if action.kind == "keys":
                action = IvrAction("keys", action.keys, f"menu repeated; {action.reason}", serves_goal=False)
        else:
            action = choose(menu, self.goal)
        return action
