"""The pieces under "people's text stays text" and "vendor values out of range show as unknown": Mrkdwn, which
escapes every part it did not make, and the total reading of vendors' times and figures."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.core.blocks import Mrkdwn, as_text, code, date_token, link, mention, mrkdwn
from services.clock import parse_vendor_time
from services.mirrortab import MirrorTabSession
from services.vendor_values import count_or_none, read_rows


def test_mrkdwn_escapes_every_part_it_did_not_make() -> None:
    name = "<!channel> & <@U0EVIL>"
    text = Mrkdwn("*{}* by {} at {}").format(name, mention("U0ANN"), date_token(datetime(2026, 11, 23, tzinfo=UTC)))
    assert text.startswith("*&lt;!channel&gt; &amp; &lt;@U0EVIL&gt;* by <@U0ANN> at <!date^1795392000^")
    assert Mrkdwn(", ").join([name, mention("U0BOB")]) == "&lt;!channel&gt; &amp; &lt;@U0EVIL&gt;, <@U0BOB>"
    assert Mrkdwn("a ") + "<b>" == "a &lt;b&gt;" and "<b>" + Mrkdwn(" a") == "&lt;b&gt; a"
    assert isinstance("x" + Mrkdwn("y"), Mrkdwn) and isinstance(Mrkdwn("{:>5}").format(3), Mrkdwn)
    assert as_text(Mrkdwn("<@U0ANN>")) == "<@U0ANN>"  # made here: stays as it is, never escaped twice


def test_cohost_markup_is_made_only_from_what_it_can_be() -> None:
    assert mention("U0ANN|x> <!channel") == "U0ANN|x&gt; &lt;!channel"  # not a user id: shown as text
    assert link("https://a.example/x?a=1&b=2", "join") == "<https://a.example/x?a=1&amp;b=2|join>"
    assert link("https://a.example/|<!channel>", "join") == ""  # would end the link early: no link at all
    assert link("javascript:alert(1)", "open") == ""
    assert code("a`b<c>") == "`a'b&lt;c&gt;`"


@given(st.lists(st.sampled_from(["<!here>", "&", "x", "é"]), max_size=900).map("".join))
def test_a_long_text_is_shortened_without_cutting_an_entity_or_a_token(text: str) -> None:
    shown = mrkdwn(Mrkdwn("{} {}").format(text, mention("U0ANN")), 3000)["text"]
    assert len(shown) <= 3000
    body = shown.removesuffix("…")
    assert body.count("<") == body.count(">")
    assert all(piece.startswith(("amp;", "lt;", "gt;")) for piece in body.split("&")[1:])


@pytest.mark.parametrize(
    "value",
    [99999999999999999999999, 10**22, -1, 0, float("nan"), float("inf"), "1e400", "+50000-01-01", "soon", [], {}],
)
def test_vendor_times_out_of_range_are_unknown(value: object) -> None:
    assert parse_vendor_time(value) is None


@given(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(), st.lists(st.integers())))
def test_reading_a_vendor_time_or_count_never_raises(value: object) -> None:
    when = parse_vendor_time(value)
    assert when is None or datetime(1970, 1, 2, tzinfo=UTC) <= when < datetime(3000, 1, 1, tzinfo=UTC)
    count = count_or_none(value)
    assert count is None or 0 <= count <= 10**15


def test_a_row_without_an_id_is_counted_and_the_others_read() -> None:
    rows = read_rows(MirrorTabSession, [{"session_id": "a", "kill_time": 10**22}, {"session_name": "x"}, "junk"])
    assert [(row.session_id, row.kill_time) for row in rows] == [("a", None)]
    assert rows.unreadable == 2
