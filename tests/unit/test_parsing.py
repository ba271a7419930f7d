"""The grammar of DESIGN.md: escaped text, quoting, options, WHEN, generated help."""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.cobrowse import COBROWSE
from handlers.core.addresses import private_reason
from handlers.core.bounds import (
    STRICT,
    InputRules,
    ParseError,
    as_typed,
    mention_id,
    person_name,
    tokenize,
    unescape,
    web_url,
)
from handlers.core.when import parse_when

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # a Monday


def test_slack_escapes_are_unwrapped() -> None:
    text = (
        "new <https://a.example/x?a=1&amp;b=2|a.example> <@U0ANN|ann> <#C0GEN|general> <mailto:a@b.example|a@b.example>"
    )
    assert tokenize(unescape(text)) == ["new", "https://a.example/x?a=1&b=2", "<@U0ANN>", "<#C0GEN>", "a@b.example"]
    assert mention_id("<@U0ANN>") == "U0ANN"


def test_quoted_values_are_one_value_straight_or_curly() -> None:
    parsed = COBROWSE.parse("new --name “Demo for ACME” https://a.example")
    assert parsed is not None
    assert parsed.args.name == "Demo for ACME"
    assert COBROWSE.parse("new --name 'It is' https://a.example").args.name == "It is"  # type: ignore[union-attr]


def test_options_and_positionals_in_any_order() -> None:
    parsed = COBROWSE.parse("new --minutes 30 https://a.example --access OPEN https://b.example --provider mirrortab")
    assert parsed is not None
    assert parsed.sub.name == "new"
    assert parsed.args.urls == ["https://a.example", "https://b.example"]
    assert (parsed.args.minutes, parsed.args.access, parsed.args.provider) == (30, "open", "mirrortab")
    assert (parsed.args.name, parsed.args.disable) == (None, [])  # not given: the model's defaults


def test_smart_dashes_still_mark_options() -> None:
    parsed = COBROWSE.parse("invite 123456789 —uses 3 —leader")
    assert parsed is not None
    assert (parsed.args.uses, parsed.args.leader) == (3, True)


def test_two_word_subcommands_and_repeated_options() -> None:
    parsed = COBROWSE.parse(
        "reseller create Acme --licenses 5 --set welcome_active=false --set a=b --disable MODE_LOGOUT"
    )
    assert parsed is not None
    assert parsed.sub.name == "reseller create"
    assert parsed.args.settings == [("welcome_active", "false"), ("a", "b")]
    assert parsed.args.disable == ["MODE_LOGOUT"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("new --minutes soon", "--minutes takes a whole number"),
        ("new --minutes 0", "at least 1"),
        ("new --access everyone", "--access is one of open, gocode, account"),
        ("new --colour red", "has no option --colour"),
        ("new --name", "--name needs a value"),
        ("end", "needs SESSION"),
        ("end a b", "Unexpected `b`"),
        ("reseller create Acme", "needs --licenses"),
        ('new --name "unclosed', "not closed"),
        ("new --name a --name b", "given twice"),
    ],
)
def test_parse_errors_say_what_is_wrong_with_the_usage(text: str, message: str) -> None:
    with pytest.raises(ParseError) as caught:
        COBROWSE.parse(text)
    assert message in caught.value.message
    if "not closed" not in message:
        assert caught.value.usage is not None and caught.value.usage.startswith("/cobrowse ")


def test_help_is_generated_from_the_same_table() -> None:
    assert COBROWSE.parse("") is None
    assert COBROWSE.parse("help") is None
    text = COBROWSE.help_text()
    for sub in COBROWSE.subcommands:
        assert sub.usage() in text
    assert "`/cobrowse invite ROOM [--uses N] [--leader] [--as NAME]`" in text


def test_unknown_subcommand_is_a_parse_error_without_usage() -> None:
    with pytest.raises(ParseError) as caught:
        COBROWSE.parse("launch rockets")
    assert caught.value.usage is None


@given(st.text(max_size=200))
@settings(max_examples=400, deadline=None)
def test_no_text_makes_the_parser_raise_anything_but_a_parse_error(text: str) -> None:
    with contextlib.suppress(ParseError):
        COBROWSE.parse(text)


LONDON = ZoneInfo("Europe/London")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-23 15:00", datetime(2026, 11, 23, 15, 0, tzinfo=LONDON)),
        ("2026-11-23T15:00", datetime(2026, 11, 23, 15, 0, tzinfo=LONDON)),
        ("15:00", datetime(2026, 11, 23, 15, 0, tzinfo=LONDON)),
        ("09:30", datetime(2026, 11, 24, 9, 30, tzinfo=LONDON)),  # already past today: the next one
        ("tomorrow 09:30", datetime(2026, 11, 24, 9, 30, tzinfo=LONDON)),
        ("in 2h", datetime(2026, 11, 23, 14, 0, tzinfo=LONDON)),
        ("in 45m", datetime(2026, 11, 23, 12, 45, tzinfo=LONDON)),
        ("in 1h30m", datetime(2026, 11, 23, 13, 30, tzinfo=LONDON)),
    ],
)
def test_when_is_read_in_the_callers_zone(text: str, expected: datetime) -> None:
    assert parse_when(text, NOW, LONDON) == expected


def test_when_in_another_zone_is_another_instant() -> None:
    new_york = parse_when("2026-11-23 15:00", NOW, ZoneInfo("America/New_York"))
    assert new_york.astimezone(UTC) == datetime(2026, 11, 23, 20, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", ["2026-11-22 15:00", "yesterday", "25:00", "tomorrow 9", "2026-02-30 10:00", "in 0m"])
def test_unreadable_or_past_times_are_refused(text: str) -> None:
    with pytest.raises(ParseError):
        parse_when(text, NOW, LONDON)


def test_schedule_takes_a_two_word_when() -> None:
    parsed = COBROWSE.parse("schedule tomorrow 09:30 https://a.example --minutes 30")
    assert parsed is not None
    assert parsed.args.when == "tomorrow 09:30"
    assert parsed.args.url == "https://a.example"


def test_a_group_word_with_an_unknown_second_word_lists_the_groups_forms() -> None:
    from handlers.upload import UPLOAD

    with pytest.raises(ParseError) as raised:
        UPLOAD.parse("digest fortnightly 09:00")
    assert "`/upload digest` is one of:" in raised.value.message
    assert "/upload digest weekly DAY HH:MM" in raised.value.message
    assert "web address" not in raised.value.message


# -- what is given back, and the bounds ------------------------------------------------------------------------


def test_the_command_given_back_reads_as_the_person_typed_it() -> None:
    sent = (
        "new <https://a.example/x?a=1&amp;b=2|a.example> --name &lt;!channel&gt; <@U0BOB|bob> <#C0GEN|general> <!here>"
    )
    assert as_typed(sent) == "new https://a.example/x?a=1&b=2 --name <!channel> @bob #general @here"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/", "a loopback address (127.0.0.1)"),
        ("http://127.1/", "a loopback address (127.0.0.1)"),
        ("http://0177.0.0.1/", "a loopback address (127.0.0.1)"),
        ("http://0x7f000001/", "a loopback address (127.0.0.1)"),
        ("http://%31%32%37.0.0.1/", "a loopback address (127.0.0.1)"),
        ("http://１２７。０。０。１/", "a loopback address (127.0.0.1)"),
        ("http://[0:0:0:0:0:ffff:7f00:1]/", "a loopback address (127.0.0.1)"),
        ("http://[fe80::1%25eth0]/", "a link-local address (fe80::1)"),
        ("http://[fd00::5]/", "a private address (fd00::5)"),
        ("http://100.64.0.1/", "a private address (100.64.0.1)"),
        ("http://[::]/", "an unspecified address (::)"),
        ("http://LocalHost./", "this machine (localhost)"),
        ("https://a.example/", None),
        ("https://8.8.8.8/", None),
        ("https://127.0.0.1.nip.io/", None),  # a name: no DNS lookups, as DESIGN.md says
    ],
)
def test_private_hosts_in_every_spelling_browsers_read(url: str, reason: str | None) -> None:
    assert private_reason(url) == reason
    if reason is not None:
        with pytest.raises(ParseError, match="COHOST_ALLOW_PRIVATE_URLS"):
            web_url(url, STRICT)
        assert web_url(url, InputRules(allow_private_urls=True)) == url


def test_names_and_minutes_at_their_bounds() -> None:
    assert COBROWSE.parse(f"new https://a.example --name {'n' * 150} --minutes 10080") is not None
    for text, problem in (
        (f"new https://a.example --name {'n' * 151}", "at most 150"),
        ("new https://a.example --minutes 10081", "at most 10080"),
        ("new https://a.example --minutes 0", "at least 1"),
        ("new https://a.example --minutes " + "9" * 5000, "at most 10080"),  # no int() of 5,000 digits
    ):
        with pytest.raises(ParseError, match=problem):
            COBROWSE.parse(text)
    with pytest.raises(ParseError, match=re.escape("a direction-changing character (U+2066)")):
        person_name("a\u2066b")
    assert person_name("Zoë 👩‍💻 demo") == "Zoë 👩‍💻 demo"  # a joiner in an emoji is no control character
