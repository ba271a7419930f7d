"""`/meeting` end to end: signed requests into the running bot, real MiroTalk and Coviu clients, the simulators."""

from __future__ import annotations

import html
import json
import logging
import re
from datetime import timedelta
from typing import Any

import pytest

from sandbox.mirotalk import JOIN_OK, SWITCHABLE
from sandbox.world import Sims
from tests.conftest import ADA, ANN, BOB, CAROL, CHANNEL, Harness
from tests.integration.test_coviu_service import seed_every_kind
from tests.messages import actions_of, text_of

#: The host user configured on the MiroTalk server, and given to Cohost (MIROTALK_HOST_USERNAME/PASSWORD).
HOST_USER, HOST_PASSWORD = "cohost-host", "host-sign-in-0123"


@pytest.fixture
def mirotalk_switched_on() -> frozenset[str]:
    """Here MiroTalk's admin has switched every endpoint on, and Cohost has a host user (a server as shipped, and
    Cohost without a host user, are tests/e2e/test_mirotalk_servers.py's)."""
    return frozenset(SWITCHABLE)


@pytest.fixture
def overrides() -> dict[str, Any]:
    return {"MIROTALK_HOST_USERNAME": HOST_USER, "MIROTALK_HOST_PASSWORD": HOST_PASSWORD}


@pytest.fixture(autouse=True)
def host_user_on_the_server(sims: Sims) -> None:
    sims.mirotalk.host_users[HOST_USER] = HOST_PASSWORD


def token_in(text: str) -> str:
    return re.search(r"token=([\w.-]+)", text).group(1)  # type: ignore[union-attr]


def link_in(text: str) -> str:
    """The first link in a message, as Slack shows it (and so opens it): its `&amp;` read as `&`."""
    return html.unescape(re.search(r"https?://[^\s\"`<>|\[\]]+", text).group(0))  # type: ignore[union-attr]


async def meeting(bot: Harness, text: str, *, user: str = ANN) -> None:
    ack = await bot.command(text, command="/meeting", user=user)
    assert ack.status == 200 and ack.seconds < 1.0


def channel_posts(bot: Harness) -> str:
    return json.dumps(bot.slack.posted(CHANNEL) + bot.slack.api_calls("chat.update"))


def dms_to(bot: Harness, user: str) -> list[dict[str, Any]]:
    return bot.slack.posted("D" + user)


# -- the grammar --------------------------------------------------------------------------------------------------


async def test_help_lists_every_meeting_subcommand(bot: Harness) -> None:
    ack = await bot.command("help", command="/meeting")
    for usage in (
        "/meeting new [ROOM] [@user ...] [--provider mirotalk|coviu] [--minutes N] [--name TEXT]",
        "/meeting join ROOM [--name NAME] [--audio] [--video]",
        "/meeting token [--presenter] [--expire 1h]",
        "/meeting end ROOM_OR_SESSION [--redirect URL]",
        "/meeting schedule WHEN [@user ...]",
        "/meeting invite SESSION @user [--role host|guest]",
        "/meeting uninvite PARTICIPANT",
        "/meeting update SESSION [--name TEXT] [--start WHEN] [--minutes N]",
        "/meeting list",
        "/meeting stats",
    ):
        assert usage in ack.text


# -- MiroTalk ---------------------------------------------------------------------------------------------------


async def test_new_mirotalk_meeting_posts_a_card_and_gives_the_creator_a_presenter_link_privately(
    bot: Harness,
) -> None:
    await meeting(bot, 'new standup --name "Daily standup" --minutes 30')
    card = await bot.card()
    assert "Daily standup" in text_of(card) and "`standup`" in text_of(card) and "MiroTalk" in text_of(card)
    assert "<!date^" in text_of(card) and f"<@{ANN}>" in text_of(card)  # expiry and who started it
    join, mine, end = actions_of(card)
    assert join["url"] == f"{bot.mirotalk.url}/join/standup"
    assert (mine["action_id"], end["action_id"]) == ("meeting_my_link", "meeting_end")
    presenter = await bot.private()
    assert "presenter link" in presenter and "room=standup" in presenter and "name=ann" in presenter
    assert "duration=00:30:00" in presenter  # --minutes, as the join link carries it
    issued = bot.mirotalk.read_token(token_in(presenter))
    assert issued is not None and (issued.username, issued.presenter) == (HOST_USER, True)
    assert bot.mirotalk.check_join(link_in(presenter)) == JOIN_OK
    assert "token=" not in channel_posts(bot)


async def test_a_meeting_with_no_room_gets_the_servers_fresh_one(bot: Harness) -> None:
    await meeting(bot, "new --name Fresh")  # with nothing at all after `new`, a form opens (tests/e2e/test_shortcuts)
    card = await bot.card()
    join = actions_of(card)[0]
    room = join["url"].rsplit("/", 1)[1]
    assert len(room) == 36 and f"`{room}`" in text_of(card)


async def test_mentioned_people_get_their_own_links_by_direct_message(bot: Harness) -> None:
    await meeting(bot, f"new sync <@{BOB}|bob> <@{CAROL}|carol>")
    await bot.card()
    await bot.slack.wait_for(lambda: all(dms_to(bot, who) for who in (BOB, CAROL)), what="two direct messages")
    (to_bob,) = dms_to(bot, BOB)
    assert "room=sync" in to_bob["text"] and "name=bob" in to_bob["text"] and "token=" not in to_bob["text"]
    assert "name=carol" in dms_to(bot, CAROL)[0]["text"]
    assert "name=bob" not in channel_posts(bot)
    answers = " ".join([await bot.private(1), await bot.private(2)])
    assert f"Sent their own links by direct message to <@{BOB}>, <@{CAROL}>" in answers


async def test_a_person_slack_cannot_message_is_named_and_the_others_still_get_their_links(bot: Harness) -> None:
    gone = "U0GONE"  # an id Slack has no person for: conversations.open answers user_not_found
    await meeting(bot, f"new sync <@{gone}|gone> <@{BOB}|bob>")
    await bot.card()
    await bot.slack.wait_for(lambda: bool(dms_to(bot, BOB)), what="bob's direct message")
    answers = " ".join([await bot.private(1), await bot.private(2), await bot.private(3)])
    assert f"Sent their own links by direct message to <@{BOB}>." in answers
    assert f"No link reached <@{gone}> (no direct message could be sent: Slack answered `user_not_found`)" in answers
    assert "name=" not in answers.split("No link reached")[1]  # the link that could not be sent is not shown


async def test_get_my_link_gives_each_clicker_a_link_with_their_name_to_them_alone(bot: Harness) -> None:
    await meeting(bot, "new review")
    card = await bot.card()
    await bot.private()
    await bot.click("meeting_my_link", actions_of(card)[1]["value"], card=card, user=BOB)
    answer = await bot.private(2)
    assert "room=review" in answer and "name=bob" in answer and "token=" not in answer
    assert len(bot.slack.posted()) == 1  # the card, nothing else in any channel


async def test_the_creator_ends_the_meeting_for_everyone_and_the_card_says_so(bot: Harness) -> None:
    await meeting(bot, "new review --minutes 45")
    card = await bot.card()
    await bot.private()  # the creator's own presenter link, before anyone clicks
    bot.mirotalk.add_peer("review", "Patient")
    end = actions_of(card)[2]
    await bot.click("meeting_end", end["value"], card=card, user=BOB)
    assert "Only <@U0ANN> (who started it)" in await bot.private(2)
    assert "review" in bot.mirotalk.rooms
    bot.advance(34)
    await bot.click("meeting_end", end["value"], card=card)
    (updated,) = await bot.slack.wait_for_calls("chat.update")
    assert updated["ts"] == card["ts"]
    assert f"Ended by <@{ANN}> · 34 min" in text_of(updated)
    assert not actions_of(updated) and "/join" not in text_of(updated)
    assert [e.room for e in bot.mirotalk.ended] == ["review"]


async def test_end_by_command_sends_everyone_to_the_redirect_and_acts_once(bot: Harness) -> None:
    await meeting(bot, "new review")
    await bot.card()
    bot.mirotalk.add_peer("review", "Patient")
    await meeting(bot, "end review --redirect <https://example.com/thanks>")
    answer = await bot.private(2)
    assert "Ended MiroTalk room `review` for everyone" in answer and "https://example.com/thanks" in answer
    assert bot.mirotalk.ended[0].redirect == "https://example.com/thanks"
    await meeting(bot, "end review")
    assert "already ended" in await bot.private(3)
    assert len(bot.mirotalk.ended) == 1


async def test_a_room_nobody_joined_is_closed_when_ended(bot: Harness) -> None:
    await meeting(bot, "new empty")
    card = await bot.card()
    await bot.click("meeting_end", actions_of(card)[2]["value"], card=card)
    (updated,) = await bot.slack.wait_for_calls("chat.update")
    assert f"Ended by <@{ANN}>" in text_of(updated)
    assert "Nobody was in MiroTalk room `empty`" in await bot.private(2)


@pytest.mark.parametrize(
    ("setup", "phrase"),
    [
        (lambda sim: sim.disabled.add("meetingEnd"), "must set API_ALLOW_MEETING_END=true"),
        (lambda sim: setattr(sim, "legacy", True), "does not offer this call"),
        (lambda sim: setattr(sim, "api_secret", "rotated-on-the-server"), "refused Cohost's API secret"),
    ],
    ids=["disabled", "older-server", "wrong-secret"],
)
async def test_mirotalk_refusals_are_told_apart_and_the_card_stays(bot: Harness, setup: Any, phrase: str) -> None:
    await meeting(bot, "new review")
    card = await bot.card()
    bot.mirotalk.add_peer("review", "Patient")
    setup(bot.mirotalk)
    await bot.click("meeting_end", actions_of(card)[2]["value"], card=card)
    answer = await bot.private(2)
    assert "*MiroTalk*" in answer and phrase in answer
    assert not bot.slack.api_calls("chat.update") and "review" in bot.mirotalk.rooms
    assert (await bot.runtime.store.find_card(bot.slack.team_id, "mirotalk", "review")).state == "active"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("fault", "phrase"),
    [("500", "internal error"), pytest.param("timeout", "did not answer within 2 s", marks=pytest.mark.slow)],
)
async def test_mirotalk_faults_are_answered_privately_with_the_command(bot: Harness, fault: Any, phrase: str) -> None:
    bot.mirotalk.faults.inject("/api/v1/meeting", fault)
    await meeting(bot, "new review --name Demo")
    answer = await bot.private()
    assert "*MiroTalk*" in answer and phrase in answer and "/meeting new review --name Demo" in answer
    assert not bot.slack.posted()


async def test_a_room_name_a_join_link_could_not_carry_is_refused_before_any_call(bot: Harness) -> None:
    bot.mirotalk.calls.clear()  # what the bot asked at start
    await meeting(bot, 'new "room with spaces"')
    answer = await bot.private()
    assert "Room names are 1-64 letters" in answer and '/meeting new "room with spaces"' in answer
    assert not bot.mirotalk.calls


async def test_join_carries_every_option_and_presenter_links_follow_the_rule(bot: Harness) -> None:
    await meeting(bot, "new review")
    await bot.card()
    await meeting(
        bot,
        "join review --name Dr.Who --audio --video --screen --chat --notify --duration 01:00:00 --password s3cret",
        user=BOB,
    )
    answer = await bot.private(2)
    for part in ("room=review", "roomPassword=s3cret", "name=Dr.Who", "audio=true", "video=true", "duration=01:00:00"):
        assert part in answer
    sent = bot.mirotalk.calls_to("/api/v1/join")[-1].json()
    assert sent == {**sent, "screen": True, "chat": True, "notify": True, "hide": False}
    await meeting(bot, "join review --presenter", user=BOB)
    assert "presenter link is for the meeting's creator or an admin" in await bot.private(3)
    await meeting(bot, "join review --presenter", user=CAROL)
    presenter = await bot.private(4)
    issued = bot.mirotalk.read_token(token_in(presenter))
    assert issued is not None and issued.username == HOST_USER and "name=carol" in presenter
    assert bot.mirotalk.check_join(link_in(presenter)) == JOIN_OK


async def test_tokens_sign_in_as_the_host_user_so_they_go_to_admins_alone(bot: Harness) -> None:
    await meeting(bot, "token --expire 2h")  # ann is no admin
    refused = await bot.private()
    assert "for Cohost admins and workspace admins" in refused and "/meeting join ROOM" in refused
    await meeting(bot, "token --presenter", user=BOB)
    assert "for Cohost admins" in await bot.private(2)
    # Nothing was asked of the server for them (the body-less call is Cohost learning, at start, whether the
    # server has its token endpoint switched on).
    assert not [call for call in bot.mirotalk.calls_to("/api/v1/token") if call.body]
    await meeting(bot, "token --expire 2h", user=ADA)
    issued = bot.mirotalk.read_token((await bot.private(3)).split("`")[1])
    assert issued is not None and (issued.username, issued.password, issued.presenter) == (
        HOST_USER,
        HOST_PASSWORD,
        False,
    )
    await meeting(bot, "token --presenter", user=ADA)
    issued = bot.mirotalk.read_token((await bot.private(4)).split("`")[1])
    assert issued is not None and issued.presenter is True
    await meeting(bot, "token --expire soon", user=ADA)
    assert "Expiry is a number and a unit" in await bot.private(5)
    assert not bot.slack.posted()


# -- Coviu ------------------------------------------------------------------------------------------------------


async def test_new_coviu_session_gives_everyone_their_own_participant_link(bot: Harness) -> None:
    await meeting(bot, f"new --provider coviu --name Consult --minutes 30 <@{BOB}|bob>")
    card = await bot.card()
    sent = bot.coviu.calls_to("/sessions")[0].json()
    assert sent["start_time"] == "2026-11-23T12:01:00Z" and sent["end_time"] == "2026-11-23T12:31:00Z"
    ((session_id, _),) = bot.coviu.sessions.items()
    host_link = await bot.answer_with("Your host link")
    await bot.slack.wait_for(lambda: bool(dms_to(bot, BOB)), what="bob's direct message")
    people = {p["display_name"]: p for p in bot.coviu.participants.values()}
    assert {name: p["role"] for name, p in people.items()} == {"ann": "host", "bob": "guest"}
    assert people["ann"]["entry_url"] in host_link
    (to_bob,) = dms_to(bot, BOB)
    assert people["bob"]["entry_url"] in to_bob["text"] and people["ann"]["entry_url"] not in to_bob["text"]
    assert "Consult" in text_of(card) and f"`{session_id}`" in text_of(card) and "Starts" in text_of(card)
    assert [a["action_id"] for a in actions_of(card)] == ["meeting_my_link", "meeting_end"]  # no shared link
    for person in people.values():
        assert person["entry_url"] not in channel_posts(bot)


async def coviu_card_and_bobs_link(bot: Harness) -> tuple[dict[str, Any], str, str]:
    """A Coviu card by ann; bob clicks its Get my link: the card, the button's value and bob's answer."""
    await meeting(bot, "new --provider coviu")
    card = await bot.card()
    await bot.private()
    value = actions_of(card)[0]["value"]
    await bot.click("meeting_my_link", value, card=card, user=BOB)
    return card, value, await bot.private(2)


async def test_get_my_link_on_coviu_reuses_a_persons_participant_and_adds_newcomers_as_guests(bot: Harness) -> None:
    card, value, first = await coviu_card_and_bobs_link(bot)
    await bot.click("meeting_my_link", value, card=card, user=BOB)
    second = await bot.private(3)
    await bot.click("meeting_my_link", value, card=card)
    mine = await bot.private(4)
    roles = sorted(p["role"] for p in bot.coviu.participants.values())
    assert roles == ["guest", "host"]
    bob = next(p for p in bot.coviu.participants.values() if p["display_name"] == "bob")
    assert bob["entry_url"] in first and bob["entry_url"] in second and bob["entry_url"] not in mine


async def test_ending_coviu_cancels_a_future_session_and_ends_a_running_one(bot: Harness) -> None:
    await meeting(bot, "new --provider coviu --name Later")
    later = await bot.card()
    await bot.click("meeting_end", actions_of(later)[1]["value"], card=later)
    (updated,) = await bot.slack.wait_for_calls("chat.update")
    assert f"Ended by <@{ANN}>" in text_of(updated)
    ((later_id, later_session),) = bot.coviu.sessions.items()
    assert later_session["canceled_time"] and bot.coviu.calls_to(f"/sessions/{later_id}")[-1].method == "DELETE"

    await meeting(bot, "new --provider coviu --name Now")
    await bot.card(2)
    now_id = next(sid for sid in bot.coviu.sessions if sid != later_id)
    bot.advance(5)
    await meeting(bot, f"end {now_id}")
    await bot.answer_with(f"Ended Coviu session `{now_id}` for everyone")
    ended = bot.coviu.calls_to(f"/sessions/{now_id}")[-1]
    assert ended.method == "PUT" and ended.json() == {"end_time": "2026-11-23T12:05:00Z"}
    updates = await bot.slack.wait_for_calls("chat.update", count=2)
    assert "Ended by" in text_of(updates[1]) and "4 min" in text_of(updates[1])


async def test_schedule_reads_when_in_the_callers_time_zone_unless_tz_is_given(bot: Harness) -> None:
    await meeting(bot, "schedule tomorrow 09:00 --minutes 30 --name Review", user=BOB)  # bob is in New York
    card = await bot.card()
    sent = bot.coviu.calls_to("/sessions")[0].json()
    assert sent["start_time"] == "2026-11-24T14:00:00Z" and sent["end_time"] == "2026-11-24T14:30:00Z"
    assert "Starts" in text_of(card)
    await meeting(bot, "schedule tomorrow 09:00 --tz Asia/Tokyo", user=BOB)
    await bot.card(2)
    assert bot.coviu.calls_to("/sessions")[1].json()["start_time"] == "2026-11-24T00:00:00Z"
    await meeting(bot, "schedule yesterday")
    assert "not a time I can read" in await bot.answer_with("yesterday")


async def test_invite_update_and_uninvite_follow_the_permission_rule(bot: Harness) -> None:
    await meeting(bot, "schedule in 2h --name Case")
    await bot.card()
    await bot.private()
    (session_id,) = bot.coviu.sessions
    await meeting(bot, f"invite {session_id} <@{BOB}|bob> --role host")
    await bot.slack.wait_for(lambda: bool(dms_to(bot, BOB)), what="bob's direct message")
    bob = next(p for p in bot.coviu.participants.values() if p["display_name"] == "bob")
    assert bob["role"] == "host" and bob["entry_url"] in dms_to(bot, BOB)[0]["text"]
    assert "Added to Coviu session" in await bot.private(2)

    await meeting(bot, f"update {session_id} --name Hijack", user=BOB)
    assert "Only <@U0ANN> (who started it)" in await bot.private(3)
    await meeting(bot, f"update {session_id} --name Renamed --minutes 90")
    assert "Updated Coviu session" in await bot.private(4)
    session = bot.coviu.sessions[session_id]
    assert session["session_name"] == "Renamed" and session["end"] - session["start"] == timedelta(minutes=90)
    (redrawn,) = await bot.slack.wait_for_calls("chat.update")
    assert "Renamed" in text_of(redrawn) and actions_of(redrawn)

    await meeting(bot, f"uninvite {bob['participant_id']}")
    assert "Removed bob" in await bot.private(5)
    assert bot.coviu.participants[bob["participant_id"]]["deleted_at"]


async def test_a_coviu_token_that_dies_mid_use_is_replaced_without_anyone_noticing(bot: Harness) -> None:
    await meeting(bot, "new --provider coviu")
    card = await bot.card()
    await bot.private()
    bot.coviu.revoke_tokens()
    await bot.click("meeting_my_link", actions_of(card)[0]["value"], card=card, user=BOB)
    assert "Your own link to Coviu session" in await bot.private(2)
    assert bot.coviu.grants == 2


@pytest.mark.parametrize(("fault", "phrase"), [("500", "internal error"), ("html", "web page instead of data")])
async def test_coviu_faults_are_answered_privately_with_the_command(bot: Harness, fault: Any, phrase: str) -> None:
    bot.coviu.faults.inject("/sessions", fault)
    await meeting(bot, "new --provider coviu --name Clinic")
    answer = await bot.private()
    assert "*Coviu*" in answer and phrase in answer and "/meeting new --provider coviu --name Clinic" in answer
    assert not bot.slack.posted()


async def test_coviu_refuses_what_it_cannot_do_with_reasons(bot: Harness) -> None:
    await meeting(bot, "new consult --provider coviu")
    assert "Coviu sessions have no room name" in await bot.private()
    await meeting(bot, "new --provider coviu")
    await bot.card()
    (session_id,) = bot.coviu.sessions
    await meeting(bot, f"end {session_id} --redirect https://example.com")
    assert "Usage: `/meeting end" in await bot.answer_with("--redirect is for MiroTalk meetings")
    await meeting(bot, "update nosuchsession --name X", user=CAROL)
    assert "*Coviu*" in await bot.answer_with("Session not found")


# -- lists ------------------------------------------------------------------------------------------------------


async def test_list_and_stats_show_both_vendors_and_name_the_one_that_fails(bot: Harness) -> None:
    bot.mirotalk.add_peer("review", "Ann")
    bot.mirotalk.add_peer("review", "Bob", screen=True)
    await meeting(bot, "new --provider coviu --name Clinic")
    await bot.card()
    await bot.answer_with("Your host link")
    await meeting(bot, "list")
    answer = await bot.private(2)
    assert "review" in answer and "2 in the room: Ann, Bob (1 sharing a screen)" in answer and "Clinic" in answer
    bot.mirotalk.disabled.add("meetings")
    await meeting(bot, "list")
    answer = await bot.private(3)
    assert "Clinic" in answer and "Listing meetings is switched off" in answer and "API_ALLOW_MEETINGS=true" in answer
    bot.mirotalk.disabled.clear()
    await meeting(bot, "stats")
    answer = await bot.private(4)
    assert "Rooms now" in answer and "People now" in answer and "Bob" in answer


async def test_list_shows_coviu_sessions_running_and_upcoming_by_their_times_whatever_their_participants_states(
    bot: Harness,
) -> None:
    seed_every_kind(bot.coviu)
    await meeting(bot, "list")
    answer = await bot.private()
    assert "Coviu: 3 live" in answer
    assert answer.index("*Long*") < answer.index("*Running*") < answer.index("*Upcoming*")
    for not_live in ("Finished", "Ended now", "Canceled", "Ancient"):
        assert f"*{not_live}*" not in answer


async def test_a_coviu_participant_canceled_elsewhere_is_never_handed_out_again(bot: Harness) -> None:
    card, value, first = await coviu_card_and_bobs_link(bot)
    old = next(p for p in bot.coviu.participants.values() if p["display_name"] == "bob")
    bot.coviu.cancel_participant_elsewhere(old["participant_id"])  # in Coviu's own console
    await bot.click("meeting_my_link", value, card=card, user=BOB)
    second = await bot.private(3)
    new = next(p for p in bot.coviu.participants.values() if p["display_name"] == "bob" and not p["deleted_at"])
    assert old["entry_url"] in first and old["entry_url"] not in second and new["entry_url"] in second
    await meeting(bot, f"uninvite {old['participant_id']}")
    assert "bob (participant" in await bot.answer_with("was already removed from Coviu session")
    assert [c.method for c in bot.coviu.calls_to(f"/participants/{old['participant_id']}")].count("DELETE") == 0


# -- secrets ----------------------------------------------------------------------------------------------------


async def test_personal_links_tokens_and_secrets_never_reach_a_channel_or_a_log(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await meeting(bot, f"new review <@{BOB}|bob>")
    await bot.card()
    await meeting(bot, f"new --provider coviu <@{BOB}|bob>")
    await bot.card(2)
    await bot.answer_with("Your host link")
    await bot.slack.wait_for(lambda: len(dms_to(bot, BOB)) == 2, what="bob's two direct messages")
    await meeting(bot, "token --presenter", user=CAROL)
    token = (await bot.answer_with("presenter token")).split("`")[1]
    secrets = [token, bot.mirotalk.api_secret, HOST_PASSWORD, bot.coviu.api_key, bot.coviu.api_secret]
    secrets += [p["entry_url"] for p in bot.coviu.participants.values()]
    secrets += [re.search(r"token=([\w.-]+)", dm["text"]).group(1) for dm in dms_to(bot, BOB) if "token=" in dm["text"]]  # type: ignore[union-attr]
    for secret in secrets:
        assert secret not in caplog.text
        assert secret not in channel_posts(bot)
