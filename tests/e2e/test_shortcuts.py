"""The global shortcuts "Start a co-browsing session" (`new_cobrowse`) and "Start a meeting" (`new_meeting`), the App
Home's buttons that open the same forms, and `/meeting new` with nothing after it: each form over real HTTP,
filled in as Slack's client fills it (the stand-in's `submitted`), into the real vendor clients and simulators."""

from __future__ import annotations

import json
from typing import Any

import pytest

from handlers.core.bounds import STRICT
from handlers.meeting.commands import MEETING
from handlers.meeting.form import as_command, request_from_form
from handlers.meeting.views import new_meeting_view
from sandbox.slack import form_state
from tests.conftest import ANN, BOB, CHANNEL, Harness
from tests.messages import actions_of, text_of

SALES = "C0SALES"
#: A private channel Cohost was not invited to: Slack answers `channel_not_found` (the bot cannot see it), or
#: `not_in_channel` where it can see the channel but is not in it.
SECRET = "CX0SECRET"


async def opened_form(bot: Harness, count: int = 1) -> dict[str, Any]:
    """The `count`-th form Cohost opened, as the stand-in stored it (with its view id)."""
    await bot.slack.wait_for_calls("views.open", count=count)
    return list(bot.slack.views.values())[count - 1]


def inputs_of(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A form's inputs by block id: their elements."""
    return {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}


def messages_in(bot: Harness, channel: str) -> list[dict[str, Any]]:
    """The messages in a channel now, as people see them there (each as last edited)."""
    return [message for (where, _), message in bot.slack.messages.items() if where == channel]


async def card_in(bot: Harness, channel: str) -> dict[str, Any]:
    """The one message in `channel`, once it is a card (waits for it)."""
    await bot.slack.wait_for(
        lambda: any(m.get("blocks") for m in messages_in(bot, channel)), what=f"a card in {channel}"
    )
    (card,) = messages_in(bot, channel)
    return card


async def shortcut_form(bot: Harness, callback_id: str, *, user: str = ANN) -> dict[str, Any]:
    ack = await bot.send(bot.slack.global_shortcut(callback_id, user_id=user))
    assert (ack.status, ack.text) == (200, "") and ack.seconds < 1.0
    return await opened_form(bot)


def dms_to(bot: Harness, user: str) -> str:
    return json.dumps(bot.slack.posted("D" + user), ensure_ascii=False)


# -- opening the forms ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("callback_id", "view", "title"),
    [("new_cobrowse", "cobrowse_new", "New co-browsing session"), ("new_meeting", "meeting_new", "New meeting")],
)
async def test_each_shortcut_opens_its_form_with_a_channel_picker(
    bot: Harness, callback_id: str, view: str, title: str
) -> None:
    request = bot.slack.global_shortcut(callback_id)
    ack = await bot.send(request)
    assert (ack.status, ack.text) == (200, "")
    form = await opened_form(bot)
    (opened,) = bot.slack.api_calls("views.open")
    assert opened["trigger_id"] == request.trigger_id
    assert (form["callback_id"], form["title"]["text"]) == (view, title)
    picker = inputs_of(form)["channel"]
    assert picker["type"] == "conversations_select" and picker["filter"]["include"] == ["public", "private"]
    assert form["blocks"][0]["block_id"] == "channel" and not form["blocks"][0]["optional"]
    assert not bot.slack.posted() and not bot.slack.ephemerals()


@pytest.mark.parametrize(
    ("action_id", "view"), [("open_new_cobrowse", "cobrowse_new"), ("open_new_meeting", "meeting_new")]
)
async def test_the_home_buttons_open_the_same_forms(bot: Harness, action_id: str, view: str) -> None:
    ack = await bot.send(bot.slack.view_action(action_id))
    assert ack.status == 200
    form = await opened_form(bot)
    assert form["callback_id"] == view and "channel" in inputs_of(form)


async def test_a_redelivered_shortcut_opens_one_form(bot: Harness) -> None:
    request = bot.slack.global_shortcut("new_meeting")
    assert (await bot.send(request)).status == 200
    await opened_form(bot)
    request.headers["X-Slack-Retry-Num"] = "1"
    assert (await bot.send(request)).status == 200
    await bot.send(bot.slack.global_shortcut("new_cobrowse"))  # a later act, to know the redelivery was passed by
    await opened_form(bot, 2)
    assert [v["callback_id"] for v in bot.slack.views.values()] == ["meeting_new", "cobrowse_new"]
    assert len([call for call in bot.slack.calls if call.path == "/api/views.open"]) == 2  # none refused
    assert not bot.slack.posted()


# -- submitting a shortcut's form ---------------------------------------------------------------------------------


async def test_the_cobrowse_shortcut_posts_the_card_in_the_picked_channel_and_the_leader_link_to_the_person(
    bot: Harness,
) -> None:
    form = await shortcut_form(bot, "new_cobrowse")
    answers = {"channel": SALES, "provider": "samesurf", "urls": "https://a.example", "name": "Onboarding ACME"}
    ack = await bot.send(bot.slack.submitted(form["id"], answers))
    assert (ack.status, ack.text) == (200, "")
    card = await card_in(bot, SALES)
    ((room_id, room),) = bot.samesurf.rooms.items()
    assert "Onboarding ACME" in text_of(card) and f"`{room_id}`" in text_of(card) and f"<@{ANN}>" in text_of(card)
    assert room["token"] in actions_of(card)[0]["url"]  # the public, follower invitation
    await bot.slack.wait_for(lambda: bool(bot.slack.ephemerals()), what="the leader link")
    (leader,) = bot.slack.ephemerals()
    assert (leader["channel"], leader["user"]) == (SALES, ANN) and room["leadertoken"] in leader["text"]
    assert room["leadertoken"] not in json.dumps(messages_in(bot, SALES))
    stored = await bot.runtime.store.find_card(bot.slack.team_id, "samesurf", room_id)
    assert stored is not None and (stored.channel_id, stored.ts, stored.creator_id) == (SALES, card["ts"], ANN)


async def test_the_meeting_shortcut_posts_the_card_there_the_host_link_to_the_person_and_links_to_invitees(
    bot: Harness,
) -> None:
    form = await shortcut_form(bot, "new_meeting")
    answers = {"channel": SALES, "provider": "coviu", "name": "Checkup", "minutes": "30", "invitees": [BOB]}
    await bot.send(bot.slack.submitted(form["id"], answers))
    card = await card_in(bot, SALES)
    sent = bot.coviu.calls_to("/sessions")[0].json()
    assert sent["start_time"] == "2026-11-23T12:01:00Z" and sent["end_time"] == "2026-11-23T12:31:00Z"
    (session_id,) = bot.coviu.sessions
    assert "Checkup" in text_of(card) and f"`{session_id}`" in text_of(card)
    await bot.slack.wait_for(
        lambda: any("host link" in e["text"] for e in bot.slack.ephemerals()) and bool(bot.slack.posted("D" + BOB)),
        what="ann's host link and bob's own link",
    )
    people = {p["display_name"]: p for p in bot.coviu.participants.values()}
    host = next(e for e in bot.slack.ephemerals() if "host link" in e["text"])
    assert (host["channel"], host["user"]) == (SALES, ANN) and people["ann"]["entry_url"] in host["text"]
    assert people["bob"]["entry_url"] in dms_to(bot, BOB) and people["ann"]["entry_url"] not in dms_to(bot, BOB)
    for person in people.values():
        assert person["entry_url"] not in json.dumps(messages_in(bot, SALES))


async def test_a_bad_minutes_value_comes_back_in_the_form_and_nothing_starts(bot: Harness) -> None:
    form = await shortcut_form(bot, "new_meeting")
    # Slack's client keeps a number input within its bounds; a request that is not held to them is checked all
    # the same, with the command's own bounds.
    state = form_state(form, {"channel": SALES, "provider": "mirotalk", "minutes": "600", "name": "Long"})
    state["minutes"]["minutes"]["value"] = "10081"
    ack = await bot.send(
        bot.slack.view_submission("meeting_new", state, private_metadata=form["private_metadata"], view_id=form["id"])
    )
    assert ack.status == 200
    assert ack.json() == {
        "response_action": "errors",
        "errors": {"minutes": "A whole number of minutes, from 1 to 10,080 (a week)."},
    }
    assert not bot.mirotalk.calls_to("/api/v1/meeting") and not bot.slack.posted()


async def test_a_coviu_meeting_with_a_room_name_is_answered_on_the_room_field(bot: Harness) -> None:
    form = await shortcut_form(bot, "new_meeting")
    answers = {"channel": SALES, "provider": "coviu", "room": "standup"}
    ack = await bot.send(bot.slack.submitted(form["id"], answers))
    assert set(ack.json()["errors"]) == {"room"} and "no room name" in ack.json()["errors"]["room"]
    assert not bot.coviu.sessions


@pytest.mark.parametrize(("channel", "error"), [(SECRET, "channel_not_found"), ("G0PRIVATE", "not_in_channel")])
@pytest.mark.parametrize("callback_id", ["new_cobrowse", "new_meeting"])
async def test_a_channel_cohost_cannot_post_in_gets_a_private_answer_with_what_was_entered_and_starts_nothing(
    bot: Harness, callback_id: str, channel: str, error: str
) -> None:
    bot.slack.not_in_channel.add("G0PRIVATE")
    form = await shortcut_form(bot, callback_id)
    answers: dict[str, Any] = {"channel": channel, "name": "Quarterly <review>", "minutes": "20"}
    answers |= {"provider": "mirrortab", "urls": "https://a.example"} if callback_id == "new_cobrowse" else {}
    answers |= {"provider": "coviu"} if callback_id == "new_meeting" else {}
    ack = await bot.send(bot.slack.submitted(form["id"], answers))
    assert (ack.status, ack.text) == (200, "")
    await bot.slack.wait_for(lambda: "D" + ANN in {p["channel"] for p in bot.slack.posted()}, what="a DM to ann")
    told = dms_to(bot, ANN)
    assert f"cannot post in <#{channel}> ({error})" in told and "/invite @Cohost" in told
    assert "Your command, to try again" in told and "Quarterly &lt;review&gt;" in told and "--minutes 20" in told
    # Nothing was asked of the vendor, so no session is left without its card; nothing stored, nothing shown.
    assert not bot.mirrortab.calls and not bot.coviu.sessions and not bot.mirrortab.sessions
    assert not messages_in(bot, channel) and not bot.slack.ephemerals()
    async with bot.runtime.store.engine.connect() as conn:
        assert (await conn.exec_driver_sql("SELECT count(*) FROM cards")).scalar_one() == 0


async def test_a_start_that_fails_gives_up_the_held_place_and_answers_privately(bot: Harness) -> None:
    bot.mirrortab.faults.inject("/new_session", "html")
    form = await shortcut_form(bot, "new_cobrowse")
    answers = {"channel": SALES, "provider": "mirrortab", "urls": "https://a.example", "name": "Demo"}
    await bot.send(bot.slack.submitted(form["id"], answers))
    await bot.slack.wait_for_calls("chat.delete")
    await bot.slack.wait_for(lambda: bool(bot.slack.ephemerals()), what="the failure, privately")
    (answer,) = bot.slack.ephemerals()
    assert "*MirrorTab*" in answer["text"] and "/cobrowse new https://a.example --name Demo" in answer["text"]
    assert not messages_in(bot, SALES)  # the held place is gone: the channel shows nothing of it


async def test_a_redelivered_submission_starts_one_session(bot: Harness) -> None:
    form = await shortcut_form(bot, "new_cobrowse")
    answers = {"channel": SALES, "provider": "mirrortab", "urls": "https://a.example", "name": "Once"}
    request = bot.slack.submitted(form["id"], answers)
    assert (await bot.send(request)).status == 200
    request.headers["X-Slack-Retry-Num"] = "1"
    assert (await bot.send(request)).status == 200
    await card_in(bot, SALES)
    await bot.send(bot.slack.global_shortcut("new_cobrowse"))  # a later act, to know the redelivery was passed by
    await opened_form(bot, 2)
    assert len(bot.mirrortab.sessions) == 1 and len(bot.mirrortab.calls_to("/new_session")) == 1
    assert len(messages_in(bot, SALES)) == 1


# -- /meeting new with nothing after it ---------------------------------------------------------------------------


async def test_meeting_new_alone_opens_the_form_whose_meeting_starts_where_it_was_typed(bot: Harness) -> None:
    ack = await bot.command("new", command="/meeting", channel=SALES)
    assert (ack.status, ack.text) == (200, "")
    form = await opened_form(bot)
    assert form["callback_id"] == "meeting_new" and "channel" not in inputs_of(form)
    assert inputs_of(form)["invitees"]["type"] == "multi_users_select"
    answers = {"provider": "mirotalk", "room": "standup", "name": "Daily standup", "invitees": [BOB]}
    ack = await bot.send(bot.slack.submitted(form["id"], answers))
    assert (ack.status, ack.text) == (200, "")
    card = await bot.card()
    assert card["channel"] == SALES and "Daily standup" in text_of(card) and "`standup`" in text_of(card)
    assert actions_of(card)[0]["url"] == f"{bot.mirotalk.url}/join/standup"
    await bot.slack.wait_for(lambda: "D" + BOB in {p["channel"] for p in bot.slack.posted()}, what="bob's link")
    assert "room=standup" in dms_to(bot, BOB) and "name=bob" in dms_to(bot, BOB)
    assert "name=bob" not in json.dumps(messages_in(bot, SALES))
    assert not bot.slack.api_calls("chat.update")  # typed in the channel: posted there, as the command would


def test_the_meeting_form_gives_back_a_command_the_grammar_reads_as_the_same_meeting() -> None:
    """(No bot needed.) The command a submitted form stands for, given back with any failure, asks for the very
    meeting the form asked for when typed again: nothing entered is lost."""
    view = new_meeting_view(None, ["mirotalk", "coviu"], "mirotalk")
    answers = {"channel": CHANNEL, "provider": "mirotalk", "room": "r1", "name": 'A "b" <c>', "minutes": "45"}
    state = form_state(view, {**answers, "invitees": [BOB, "U0CAROL"]})
    request, errors = request_from_form({**view, "state": {"values": state}})
    assert not errors
    typed = as_command(request).removeprefix("/meeting ")
    # As Slack sends it when the person types it again (`should_escape`: `&`, `<` and `>` as entities).
    parsed = MEETING.parse(typed.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"), STRICT)
    assert parsed is not None and parsed.args == request


async def test_a_shortcut_whose_form_cannot_open_is_answered_by_direct_message(bot: Harness) -> None:
    # Slack takes a trigger once: one already used by `/meeting new` cannot open the shortcut's form too.
    request = bot.slack.slash_command("/meeting", "new", trigger_id="1700000000.1.abc123")
    assert (await bot.send(request)).status == 200
    await opened_form(bot)
    ack = await bot.send(bot.slack.global_shortcut("new_cobrowse", trigger_id="1700000000.1.abc123"))
    assert ack.status == 200
    # A global shortcut names no channel, so the answer cannot be an ephemeral message anywhere.
    await bot.slack.wait_for(lambda: bool(bot.slack.posted("D" + ANN)), what="a direct message")
    assert "Something went wrong inside Cohost" in dms_to(bot, ANN) and not bot.slack.ephemerals()
    assert len(bot.slack.views) == 1
