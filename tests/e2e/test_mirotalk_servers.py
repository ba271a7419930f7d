"""MiroTalk as servers run it, end to end: a server as shipped (`meetings`, `meetingEnd` and `token` switched off,
its default host user), Cohost with and without a host user of its own, and switches that change.

Every link Cohost hands anyone is put to the simulator's `check_join`: what the server does when that person
opens it (a token for anyone but one of its host users locks its holder out).
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest

from sandbox.mirotalk import JOIN_OK
from tests.conftest import ANN, BOB, CAROL, Harness
from tests.e2e.test_scheduled import WITHIN_S, mirotalk_meeting_warned, nothing_more_within_a_tick
from tests.messages import actions_of, text_of

HOST_USER, HOST_PASSWORD = "cohost-host", "host-sign-in-0123"
WITH_HOST_USER = pytest.mark.parametrize(
    "overrides",
    [{"MIROTALK_HOST_USERNAME": HOST_USER, "MIROTALK_HOST_PASSWORD": HOST_PASSWORD}],
    ids=["host-user"],
)
LINK = re.compile(r"https?://[^\s\"`<>|\[\]\\]+")


async def meeting(bot: Harness, text: str, *, user: str = ANN) -> None:
    assert (await bot.command(text, command="/meeting", user=user)).status == 200


def handed_out(bot: Harness) -> str:
    """Everything Cohost said to anyone: private answers, direct messages, channel posts and edits."""
    said: list[Any] = [response.body for response in bot.slack.responses]
    said += bot.slack.posted() + bot.slack.ephemerals() + bot.slack.api_calls("chat.update")
    return json.dumps(said, ensure_ascii=False)


def links_in(text: str) -> list[str]:
    """The join links in a message, as Slack shows them (and so opens them): their `&amp;` read as `&`."""
    return [html.unescape(link) for link in LINK.findall(text) if "/join" in link]


def token_of(link: str) -> str:
    return re.search(r"[?&]token=([\w.-]+)", link).group(1)  # type: ignore[union-attr]


async def test_on_a_server_as_shipped_every_link_cohost_hands_out_gets_its_person_in(bot: Harness) -> None:
    await meeting(bot, f"new review --minutes 30 <@{BOB}|bob> <@{CAROL}|carol>")
    card = await bot.card()
    mine = await bot.answer_with("Your link to MiroTalk room `review`")
    assert "first person in the room presents" in mine and "duration=00:30:00" in mine
    await bot.slack.wait_for(lambda: len(bot.slack.posted()) == 3, what="the card and two direct messages")
    bot.advance(10)
    value = actions_of(card)[1]["value"]
    await bot.private(2)  # "Sent their own links by direct message to ..."
    await bot.click("meeting_my_link", value, card=card, user=BOB)
    bobs = await bot.private(3)
    assert "name=bob" in bobs and "duration=00:20:00" in bobs  # what is left of the meeting
    await bot.click("meeting_my_link", value, card=card)  # the creator's own: no presenter token to be had
    assert "name=ann" in await bot.private(4)
    await meeting(bot, "join review --audio", user=BOB)
    assert "audio=true" in await bot.private(5)

    await meeting(bot, "join review --presenter")
    refused = await bot.private(6)
    assert "Presenter links and tokens need a MiroTalk host user" in refused
    assert "MIROTALK_HOST_USERNAME and MIROTALK_HOST_PASSWORD" in refused
    assert "/meeting join review --presenter" in refused  # the command as typed, to try again
    await meeting(bot, "token --presenter", user=CAROL)
    assert "MIROTALK_HOST_USERNAME" in await bot.private(7)

    links = links_in(handed_out(bot))
    # The card's Join, ann's own, bob's and carol's direct messages, bob's Get my link, ann's, bob's join.
    assert len(set(links)) == 7
    assert {link: bot.mirotalk.check_join(link) for link in links} == dict.fromkeys(links, JOIN_OK)
    assert not [link for link in links if "token=" in link]


@WITH_HOST_USER
async def test_with_a_host_user_presenter_links_carry_its_token_and_the_persons_own_name(bot: Harness) -> None:
    bot.mirotalk.host_users[HOST_USER] = HOST_PASSWORD  # configured on the server too
    await meeting(bot, f"new review <@{BOB}|bob>")
    card = await bot.card()
    (own,) = links_in(await bot.answer_with("Your presenter link for MiroTalk room `review`"))
    await bot.slack.wait_for(lambda: bool(bot.slack.posted("D" + BOB)), what="bob's direct message")
    (bobs,) = links_in(bot.slack.posted("D" + BOB)[0]["text"])
    await meeting(bot, "join review --presenter", user=CAROL)  # an admin
    (carols,) = links_in(await bot.answer_with("Your presenter link to MiroTalk room `review`"))
    await bot.click("meeting_my_link", actions_of(card)[1]["value"], card=card)
    (again,) = links_in(await bot.answer_with("Your presenter link to MiroTalk room `review`, with your name"))

    for link, name in ((own, "ann"), (carols, "carol"), (again, "ann")):
        issued = bot.mirotalk.read_token(token_of(link))
        assert issued is not None and (issued.username, issued.presenter) == (HOST_USER, True)
        assert f"name={name}&" in link and bot.mirotalk.check_join(link) == JOIN_OK
    assert "token=" not in bobs and bot.mirotalk.check_join(bobs) == JOIN_OK
    assert HOST_PASSWORD not in handed_out(bot)

    await meeting(bot, "token --presenter", user=CAROL)  # `token` is still off on this server
    answer = await bot.answer_with("Tokens are switched off on this MiroTalk server")
    assert "must set API_ALLOW_TOKEN=true" in answer and "/meeting token --presenter" in answer


@WITH_HOST_USER
async def test_a_host_user_the_server_does_not_know_is_what_locks_people_out(bot: Harness) -> None:
    await meeting(bot, "new review")  # Cohost's host user is not one of this server's
    (own,) = links_in(await bot.answer_with("Your presenter link"))
    assert bot.mirotalk.check_join(own) == "unauthorized"
    bot.mirotalk.host_users[HOST_USER] = HOST_PASSWORD
    assert bot.mirotalk.check_join(own) == JOIN_OK


async def test_where_ending_is_off_the_card_has_no_end_and_end_says_who_can_switch_it_on(bot: Harness) -> None:
    await meeting(bot, "new review")
    card = await bot.card()
    assert [a["action_id"] for a in actions_of(card)] == ["join_link", "meeting_my_link"]
    assert "the meeting ends when everyone leaves" in text_of(card)
    bot.mirotalk.add_peer("review", "Patient")
    await meeting(bot, "end review")
    answer = await bot.answer_with("Ending meetings is switched off on this MiroTalk server")
    assert "must set API_ALLOW_MEETING_END=true" in answer and "/meeting end review" in answer
    assert "review" in bot.mirotalk.rooms and not bot.slack.api_calls("chat.update")
    assert (await bot.runtime.store.find_card(bot.slack.team_id, "mirotalk", "review")).state == "active"  # type: ignore[union-attr]


@pytest.mark.parametrize("mirotalk_switched_on", [frozenset({"meetingEnd"})], ids=["ending-on"])
async def test_an_end_click_after_ending_was_switched_off_explains_and_new_cards_follow(bot: Harness) -> None:
    await meeting(bot, "new review")
    card = await bot.card()
    end = actions_of(card)[2]
    assert end["action_id"] == "meeting_end"
    bot.mirotalk.switch_off("meetingEnd")  # the server's admin, since
    await bot.click("meeting_end", end["value"], card=card)
    assert "must set API_ALLOW_MEETING_END=true" in await bot.answer_with("Ending meetings is switched off")
    assert (await bot.runtime.store.find_card(bot.slack.team_id, "mirotalk", "review")).state == "active"  # type: ignore[union-attr]
    await meeting(bot, "new retro")  # known from that answer, not ten minutes later
    assert [a["action_id"] for a in actions_of(await bot.card(2))] == ["join_link", "meeting_my_link"]


@pytest.mark.slow
async def test_expiry_where_ending_is_off_marks_the_card_without_calling_the_server_once(bot: Harness) -> None:
    card, warning = await mirotalk_meeting_warned(bot)
    assert not actions_of(warning) and "the meeting ends when everyone leaves" in text_of(warning)
    bot.advance(5)
    (expired,) = await bot.slack.wait_for_calls("chat.update", within=WITHIN_S)
    assert expired["ts"] == card["ts"] and "Expired" in text_of(expired) and not actions_of(expired)
    stored = await bot.runtime.store.find_card(bot.slack.team_id, "mirotalk", "review")
    assert stored is not None and stored.state == "expired"
    bot.advance(3)
    await nothing_more_within_a_tick(bot)  # nothing left to retry
    assert len(bot.slack.api_calls("chat.update")) == 1
    assert all(job.done_at is not None for job in await bot.runtime.store.jobs_of(stored.id))
    assert not bot.mirotalk.calls_to("/api/v1/meeting/review") and "review" in bot.mirotalk.rooms


async def test_switches_are_learned_at_start_and_again_once_ten_minutes_old(bot: Harness) -> None:
    probes = [c for c in bot.mirotalk.calls if c.method == "DELETE"]
    assert len(probes) == 1 and probes[0].path.startswith("/api/v1/meeting/cohost-switch-probe-")  # at start
    bot.mirotalk.switch_on("meetingEnd")
    bot.advance(9)
    await meeting(bot, "new before")
    assert [a["action_id"] for a in actions_of(await bot.card())] == ["join_link", "meeting_my_link"]
    bot.advance(1)
    await meeting(bot, "new after")
    assert [a["action_id"] for a in actions_of(await bot.card(2))][-1] == "meeting_end"
    learned = await bot.runtime.vendors.mirotalk.switches()
    assert learned.meeting_end and learned.learned_at == bot.clock.now()
    assert len([c for c in bot.mirotalk.calls if c.method == "DELETE"]) == 2


@pytest.mark.parametrize("mirotalk_switched_on", [frozenset({"meetings"})], ids=["listing-on"])
async def test_list_shows_each_rooms_card_name_and_its_id_once(bot: Harness) -> None:
    await meeting(bot, 'new standup --name "Daily standup"')
    await bot.card()
    bot.mirotalk.add_peer("standup", "ann")
    bot.mirotalk.add_peer("adhoc", "bob")  # a room nobody started from Slack
    await meeting(bot, "list")
    answer = json.loads((await bot.answer_with("MiroTalk: 2 live")).split("Live meetings", 1)[1])
    rows = [b["text"]["text"] for b in answer if b["type"] == "section"]
    assert "*Daily standup* `standup` · 1 in the room: ann" in rows
    assert "`adhoc` · 1 in the room: bob" in rows
