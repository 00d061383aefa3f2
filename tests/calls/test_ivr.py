"""IVR menus parsed from what they say, the key chosen for the call's goal, loops given up on."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from talktrack.calls.ivr import IvrGoal, IvrNavigator, MenuOption, choose, keypad_letters, parse_menu

_TRANSCRIPTS = Path("/usr/share/doc/asterisk-core-sounds-{lang}/core-sounds-{lang}.txt.gz")


def _prompt(name: str, lang: str = "en") -> str:
    """A real IVR prompt's words, from the transcript Debian ships with the recorded prompts."""
    path = Path(str(_TRANSCRIPTS).format(lang=lang))
    if not path.exists():
        pytest.skip(f"{path} is missing: make test-deps installs asterisk-core-sounds-{lang}")
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as lines:
        for line in lines:
            key, _, text = line.partition(":")
            if key.strip() == name:
                return text.strip()
    raise LookupError(name)


def test_the_main_menu_of_a_real_pbx_prompt() -> None:
    menu = parse_menu(_prompt("basic-pbx-ivr-main"))
    assert menu is not None
    assert menu.options == (
        MenuOption("1", "establish a sales partnership"),
        MenuOption("2", "speak with a customer advocate"),
        MenuOption("3", "accounting and other receivables"),
        MenuOption("4", "a company directory"),
        MenuOption("0", "an operator"),
    )
    assert menu.accepts_extension


@pytest.mark.parametrize(
    ("goal", "keys"),
    [
        (IvrGoal(), "1"),  # sales
        (IvrGoal(contact_name="Dana Whitfield"), "4"),  # the directory reaches a person by name
        (IvrGoal(contact_name="Dana Whitfield", extension="214"), "214"),
        (IvrGoal(department_words=("billing",)), "0"),  # nothing about billing: the operator
    ],
)
def test_the_goal_picks_the_key(goal: IvrGoal, keys: str) -> None:
    menu = parse_menu(_prompt("basic-pbx-ivr-main"))
    assert menu is not None
    assert choose(menu, goal).keys == keys


def test_a_list_of_keys_after_one_press_spanish_included() -> None:
    english = parse_menu(_prompt("conf-adminmenu"))
    spanish = parse_menu(_prompt("conf-adminmenu-162", "es"))
    assert english is not None and spanish is not None
    assert [o.key for o in english.options] == ["1", "2", "3", "6", "9", "8"]
    assert english.options[-1] == MenuOption("8", "exit")
    assert spanish.options[1] == MenuOption("2", "activar o desactivar el candado en la conferencia")
    assert spanish.options[-1] == MenuOption("8", "salir")


@pytest.mark.parametrize(
    ("text", "key", "language"),
    [
        ("For English, press 1. Para español, oprima 2.", "2", "es"),
        ("For English, press 1. Para español, oprima 2.", "1", "en"),
        ("Press two for sales, press three for support.", "2", "en"),
        ("Para ventas, marque el 5. Para soporte, marque 6.", "5", "es"),
        ("If you'd like to speak to a representative, press star.", "*", "en"),
        ("For new customers press the pound key.", "#", "en"),
    ],
)
def test_short_menus_as_stt_writes_them(text: str, key: str, language: str) -> None:
    menu = parse_menu(text)
    assert menu is not None
    assert choose(menu, IvrGoal(language=language)).keys == key


def test_the_contacts_name_in_a_menu_wins() -> None:
    menu = parse_menu("For Dana Whitfield in sales, press 3. For other sales inquiries, press 4.")
    assert menu is not None
    assert choose(menu, IvrGoal(contact_name="Dana Whitfield")).keys == "3"


def test_dial_by_name_spells_the_last_name_on_the_keypad() -> None:
    menu = parse_menu(_prompt("dir-intro"))
    assert menu is not None and menu.spells_name == "last"
    action = choose(menu, IvrGoal(contact_name="Dana Whitfield"))
    assert action.keys == "944" == keypad_letters("Whitfield")
    first = parse_menu(_prompt("dir-intro-fn"))
    assert first is not None and choose(first, IvrGoal(contact_name="Dana Whitfield")).keys == "326"


@pytest.mark.parametrize(
    "text",
    [
        "Hello?",
        "Hi, this is Dana. I can't take your call, please leave a message after the tone.",
        _prompt("vm-intro"),  # "…When done hang up or press the pound key."
        "Someone will be with you in just a moment.",
    ],
)
def test_what_is_not_a_menu(text: str) -> None:
    assert parse_menu(text) is None


def test_a_repeated_menu_goes_to_the_operator_then_gives_up() -> None:
    navigator = IvrNavigator(IvrGoal())
    main = _prompt("basic-pbx-ivr-main")
    assert navigator.on_prompt(main) is not None and navigator.history[-1][1].keys == "1"
    again = navigator.on_prompt(main)
    assert again is not None and (again.kind, again.keys) == ("keys", "0")
    assert "repeated" in again.reason
    third = navigator.on_prompt(main)
    assert third is not None and third.kind == "give_up"


def test_rejected_keys_count_toward_giving_up() -> None:
    navigator = IvrNavigator(IvrGoal(extension="999"))
    actions = [navigator.on_prompt(_prompt("invalid")) for _ in range(3)]
    assert [a.kind for a in actions if a] == ["keys", "wait", "give_up"]


def test_a_greeting_between_menus_is_not_a_menu_and_changes_nothing() -> None:
    navigator = IvrNavigator(IvrGoal())
    assert navigator.on_prompt("Please hold while I transfer your call.") is None
    assert navigator.history == []


@pytest.mark.parametrize(
    ("text", "key"),
    [("For a company directory, press for.", "4"), ("For billing press to.", "2"), ("For support, press won.", "1")],
)
def test_keys_stt_writes_as_words_that_sound_alike(text: str, key: str) -> None:
    menu = parse_menu(text)
    assert menu is not None and [o.key for o in menu.options] == [key]
