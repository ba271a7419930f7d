"""`/cobrowse` end to end: signed requests into the running bot, real vendor clients, the simulators."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time

import pytest

from services import markers
from tests.conftest import ADA, ANN, BOB, CAROL, CHANNEL, Harness
from tests.messages import actions_of, text_of

# -- the Slack edge ---------------------------------------------------------------------------------------------


async def test_a_request_with_a_bad_signature_is_refused(bot: Harness) -> None:
    request = bot.slack.slash_command("/cobrowse", "new https://a.example")
    request.headers["X-Slack-Signature"] = "v0=" + "0" * 64
    assert (await bot.send(request)).status == 401
    assert not bot.mirrortab.calls


async def test_a_stale_request_is_refused(bot: Harness) -> None:
    request = bot.slack.slash_command("/cobrowse", "new https://a.example", timestamp=int(time.time()) - 600)
    assert (await bot.send(request)).status == 401
    assert not bot.mirrortab.calls


async def test_health_answers_when_store_and_scheduler_are_up(bot: Harness) -> None:
    async with bot.http.get(bot.url + "/healthz") as resp:
        assert resp.status == 200
        assert (await resp.json())["ok"] is True


async def test_help_and_empty_text_list_the_subcommands(bot: Harness) -> None:
    for text in ("help", "launch rockets"):
        ack = await bot.command(text)
        assert ack.status == 200
        assert "/cobrowse invite ROOM [--uses N] [--leader] [--as NAME]" in ack.text


async def test_a_parse_error_is_answered_in_the_ack_with_the_usage_and_the_typed_text(bot: Harness) -> None:
    ack = await bot.command("new --minutes soon https://a.example")
    assert ack.status == 200
    assert "--minutes takes a whole number" in ack.text
    assert "Usage: `/cobrowse new [URL ...]" in ack.text
    assert "/cobrowse new --minutes soon https://a.example" in ack.text  # nothing typed is lost
    assert not bot.mirrortab.calls


# -- MirrorTab ---------------------------------------------------------------------------------------------------


async def test_new_mirrortab_session_posts_a_card(bot: Harness) -> None:
    ack = await bot.command('new https://a.example https://b.example --name "Demo for ACME" --minutes 30 --access open')
    assert ack.status == 200 and ack.seconds < 1.0
    card = await bot.card()
    sent = bot.mirrortab.calls_to("/new_session")[0].json()
    assert sent["permissions"] == "open" and sent["duration_min"] == 30
    assert sent["urls"] == ["https://a.example", "https://b.example"]
    name, marker = markers.split(sent["session_name"])  # the marker tells Cohost's sessions apart after a crash
    assert name == "Demo for ACME" and marker is not None
    ((session_id, session),) = bot.mirrortab.sessions.items()
    assert card["channel"] == CHANNEL
    assert "Demo for ACME" in text_of(card) and session_id in text_of(card)
    assert "<!date^" in text_of(card) and f"<@{ANN}>" in text_of(card)
    join, end = actions_of(card)
    assert join["url"] == session["go_url"]
    assert end["action_id"] == "cobrowse_end"


async def test_the_defaults_are_sent_explicitly(bot: Harness) -> None:
    await bot.command("new")  # with nothing else a form opens; with a URL the session starts
    await bot.command("new https://a.example")
    await bot.card()
    sent = bot.mirrortab.calls_to("/new_session")[0].json()
    assert sent["permissions"] == "gocode" and sent["duration_min"] == 45


async def test_the_creator_ends_the_session_and_the_card_says_so(bot: Harness) -> None:
    await bot.command("new https://a.example --name Demo")
    card = await bot.card()
    end = actions_of(card)[1]
    bot.advance(34)
    await bot.click("cobrowse_end", end["value"], card=card)
    updates = await bot.slack.wait_for_calls("chat.update")
    assert not bot.mirrortab.sessions
    updated = updates[0]
    assert updated["ts"] == card["ts"]
    assert f"Ended by <@{ANN}> · 34 min" in text_of(updated)
    assert not actions_of(updated)
    assert "go/" not in text_of(updated)  # the join link is gone too


async def test_others_may_not_end_it_but_admins_may(bot: Harness) -> None:
    await bot.command("new https://a.example")
    card = await bot.card()
    value = actions_of(card)[1]["value"]
    await bot.click("cobrowse_end", value, card=card, user=BOB)
    assert "Only <@U0ANN> (who started it)" in await bot.private()
    assert len(bot.mirrortab.sessions) == 1
    await bot.click("cobrowse_end", value, card=card, user=ADA)  # a workspace admin
    updates = await bot.slack.wait_for_calls("chat.update")
    assert f"Ended by <@{ADA}>" in text_of(updates[0])


async def test_cohost_admins_may_end_any_session_by_command(bot: Harness) -> None:
    await bot.command("new https://a.example")
    await bot.card()
    (session_id,) = bot.mirrortab.sessions
    await bot.command(f"end {session_id}", user=CAROL)
    assert f"Ended MirrorTab session `{session_id}`" in await bot.private()
    assert not bot.mirrortab.sessions
    await bot.slack.wait_for_calls("chat.update")


async def test_a_double_click_on_end_acts_once(bot: Harness) -> None:
    await bot.command("new https://a.example")
    card = await bot.card()
    value = actions_of(card)[1]["value"]
    await asyncio.gather(*(bot.click("cobrowse_end", value, card=card) for _ in range(2)))
    await bot.slack.wait_for_calls("chat.update")
    await bot.private()
    assert len(bot.mirrortab.calls_to("/remove_session")) == 1
    assert "already ended" in await bot.private()
    await bot.click("cobrowse_end", value, card=card)
    assert "already ended" in await bot.private(2)


async def test_a_redelivered_command_acts_once(bot: Harness) -> None:
    request = bot.slack.slash_command("/cobrowse", "new https://a.example")
    redelivery = dataclasses.replace(
        request, headers={**request.headers, "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    )
    for delivery in (request, request, redelivery):
        assert (await bot.send(delivery)).status == 200
    await bot.card()
    await asyncio.sleep(0.3)  # room for a wrongly doubled create to show up
    assert len(bot.mirrortab.calls_to("/new_session")) == 1
    assert len(bot.slack.api_calls("chat.postMessage")) == 1


async def test_ending_a_session_that_already_timed_out_closes_its_card(bot: Harness) -> None:
    await bot.command("new https://a.example --minutes 5")
    card = await bot.card()
    bot.mirrortab.sessions.clear()  # MirrorTab removed it on its own
    await bot.click("cobrowse_end", actions_of(card)[1]["value"], card=card)
    assert "had already ended" in await bot.private()
    updates = await bot.slack.wait_for_calls("chat.update")
    assert "Expired" in text_of(updates[0])


async def test_the_card_goes_to_the_caller_when_the_bot_cannot_post_in_the_channel(bot: Harness) -> None:
    bot.slack.not_in_channel.add("C0PRIVATE")
    await bot.command("new https://a.example", channel="C0PRIVATE")
    answer = await bot.private()
    assert "invite me" in answer and "go/" in answer


# -- SameSurf ----------------------------------------------------------------------------------------------------


async def test_new_samesurf_room_posts_the_follower_link_and_gives_the_leader_link_privately(bot: Harness) -> None:
    await bot.command("new https://a.example https://b.example --provider samesurf --name Tour --disable mode_logout")
    card = await bot.card()
    ((room_id, room),) = bot.samesurf.rooms.items()
    sent = bot.samesurf.calls_to("/api/v3/create")[0].json()
    assert sent["starturl"] == "https://a.example" and markers.split(sent["title"])[0] == "Tour"
    assert [b["link"] for b in sent["bookmarks"]] == ["https://a.example", "https://b.example"]
    assert sent["disabledfeatures"] == ["MODE_LOGOUT"]
    join, invite = actions_of(card)
    assert join["url"].endswith(f"/r/{room_id}/{room['token']}")
    assert invite["action_id"] == "cobrowse_invite_link"
    leader = await bot.private()
    assert room["leadertoken"] in leader
    for message in bot.slack.api_calls("chat.postMessage"):
        assert room["leadertoken"] not in json.dumps(message)


async def test_samesurf_refuses_mirrortab_only_options_clearly(bot: Harness) -> None:
    await bot.command("new https://a.example --provider samesurf --access open")
    answer = await bot.private()
    assert "--access is for MirrorTab sessions" in answer
    assert "/cobrowse new https://a.example --provider samesurf --access open" in answer
    assert not bot.samesurf.calls_to("/api/v3/create")


async def test_the_invite_link_button_gives_the_clicker_a_one_use_link_of_their_own(bot: Harness) -> None:
    await bot.command("new https://a.example --provider samesurf")
    card = await bot.card()
    await bot.private()  # the leader link
    invite = actions_of(card)[1]
    await bot.click("cobrowse_invite_link", invite["value"], card=card, user=BOB)
    answer = await bot.private(2)
    ((token, invitation),) = bot.samesurf.invitations.items()
    assert invitation["usagelimit"] == 1 and invitation["isleader"] is False
    assert invitation["usersname"] == "bob"
    assert token in answer


async def test_invite_revoke_and_the_leader_rule(bot: Harness) -> None:
    await bot.command("new https://a.example --provider samesurf")
    await bot.card()
    (room_id,) = bot.samesurf.rooms
    await bot.command(f"invite {room_id} --leader", user=BOB)
    assert "for the room's creator or an admin" in await bot.private(2)
    await bot.command(f'invite {room_id} --uses 3 --leader --as "Ann Host"')
    answer = await bot.private(3)
    ((token, invitation),) = bot.samesurf.invitations.items()
    assert invitation == {**invitation, "usagelimit": 3, "isleader": True, "usersname": "Ann Host"}
    assert "3 uses" in answer and token in answer
    await bot.command(f"revoke {token}")
    assert f"Revoked invitation `{token}`" in await bot.private(4)
    assert not bot.samesurf.invitations
    await bot.command(f"revoke {token}")
    assert "SameSurf" in await bot.private(5)


async def test_schedule_reads_when_in_the_callers_time_zone(bot: Harness) -> None:
    await bot.command(
        "schedule tomorrow 09:30 https://a.example --minutes 30 --name Review "
        '--invite <mailto:a@b.example|a@b.example>,c@d.example --message "See you"'
    )
    card = await bot.card()
    sent = bot.samesurf.calls_to("/api/v3/create")[0].json()
    assert sent["eventtime"] == "2026-11-24T09:30:00" and sent["timezone"] == "Europe/London"
    assert sent["lengthinminutes"] == 30
    assert sent["invitees"] == "a@b.example,c@d.example" and sent["invitemessage"] == "See you"
    assert "Starts" in text_of(card) and "<!date^" in text_of(card)


async def test_schedule_with_tz_and_a_bad_zone(bot: Harness) -> None:
    await bot.command("schedule 2026-11-24 15:00 --tz UTC")
    await bot.card()
    sent = bot.samesurf.calls_to("/api/v3/create")[0].json()
    assert sent["eventtime"] == "2026-11-24T15:00:00Z"
    assert sent["starturl"] == "https://www.samesurf.com"  # no URL given: SameSurf's own page, never none (105)
    await bot.command("schedule 2026-11-24 15:00 --tz Mars/Olympus")
    await bot.answer_with("not a time zone")  # beside the first room's leader link, in whichever order


# -- lists and analytics ----------------------------------------------------------------------------------------


async def test_list_shows_both_vendors_and_names_the_one_that_fails(bot: Harness) -> None:
    await bot.command("new https://a.example --name Alpha")
    await bot.command("new https://b.example --provider samesurf --name Beta")
    await bot.slack.wait_for_calls("chat.postMessage", count=2)
    await bot.answer_with("leader link")  # the room's last word, before the lists
    await bot.command("list")
    answer = await bot.private(2)
    assert "Alpha" in answer and "Beta" in answer
    bot.samesurf.faults.inject("/api/v3/runningrooms", "500", times=10)
    await bot.command("list")
    answer = await bot.private(3)
    assert "Alpha" in answer and "SameSurf" in answer and "internal error" in answer


async def test_list_on_an_empty_mirrortab_answer_204(bot: Harness) -> None:
    await bot.command("list --provider mirrortab")
    assert "MirrorTab: 0 live" in await bot.private()


async def test_stats_rooms_and_report(bot: Harness) -> None:
    bot.samesurf.seed_analytics_room(
        "555000111",
        "Onboarding",
        "2026-11-20T10:00:00Z",
        1234,
        1,
        users=[
            {
                "guid": "G1",
                "host": True,
                "name": "Host",
                "ipaddress": "203.0.113.9",
                "city": "London",
                "country": "United Kingdom",
                "joinedat": "2026-11-20T10:00:00Z",
                "leftat": "2026-11-20T10:20:00Z",
            }
        ],
        events=[
            {"type": "url", "date": "2026-11-20T10:01:00Z", "sender": "", "target": "", "data": "https://x.example"}
        ],
    )
    await bot.command("stats")
    assert "Rooms today" in await bot.private()
    await bot.command("rooms --take 5")
    answer = await bot.private(2)
    assert "Onboarding" in answer and "20 min 34 s" in answer
    await bot.command("report 555000111")
    answer = await bot.private(3)
    assert "Host (host)" in answer and "London" in answer and "https://x.example" in answer
    assert "203.0.113.9" not in answer


# -- reseller ---------------------------------------------------------------------------------------------------


async def test_reseller_calls_are_for_admins_and_credentials_reach_only_the_admin(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await bot.command("reseller create Acme --licenses 5", user=BOB)
    assert "for Cohost admins" in await bot.private()
    assert not bot.samesurf.subscriptions
    await bot.command(
        "reseller create Acme --licenses 5 --set welcome_active=false --disable MODE_SCREEN_SHARE", user=CAROL
    )
    assert "Created SameSurf subscription `Acme`" in await bot.private(2)
    subscription = bot.samesurf.subscriptions["Acme"]
    assert subscription["licensecount"] == 5
    await bot.command("reseller apikey Acme", user=ADA)
    answer = await bot.private(3)
    key = bot.samesurf.subscriptions["Acme"]["apikeys"][0]
    assert key["apikey"] in answer and key["apisecret"] in answer
    assert key["apisecret"] not in json.dumps(bot.slack.api_calls("chat.postMessage"))
    assert key["apisecret"] not in caplog.text
    await bot.command("reseller delete Acme", user=CAROL)
    assert "force" in (await bot.private(4)).lower()
    await bot.command("reseller delete Acme --force", user=CAROL)
    assert "Deleted SameSurf subscription `Acme`" in await bot.private(5)


async def test_reseller_refuses_unknown_settings_and_features(bot: Harness) -> None:
    await bot.command("reseller create Acme --licenses 5 --set colour=red", user=CAROL)
    assert "`colour` is not a SameSurf setting" in await bot.private()
    await bot.command("reseller create Acme --licenses 5 --disable TELEPORT", user=CAROL)
    assert "`TELEPORT` is not a SameSurf feature" in await bot.private(2)
    assert not bot.samesurf.subscriptions


# -- the form ---------------------------------------------------------------------------------------------------


async def test_new_with_nothing_opens_a_form_whose_card_goes_to_the_channel_typed_in(bot: Harness) -> None:
    await bot.command("new", channel="C0SALES")
    (opened,) = await bot.slack.wait_for_calls("views.open")
    view = opened["view"]
    assert view["callback_id"] == "cobrowse_new"
    await bot.send(
        bot.slack.view_submission(
            "cobrowse_new",
            {
                "provider": {"provider": {"type": "static_select", "selected_option": {"value": "mirrortab"}}},
                "urls": {"urls": {"type": "plain_text_input", "value": "https://a.example\nhttps://b.example"}},
                "name": {"name": {"type": "plain_text_input", "value": "From the form"}},
                "minutes": {"minutes": {"type": "number_input", "value": "20"}},
                "access": {"access": {"type": "static_select", "selected_option": None}},
            },
            private_metadata=view["private_metadata"],
            user_id=ANN,
        )
    )
    card = await bot.card()
    assert card["channel"] == "C0SALES" and "From the form" in text_of(card)
    sent = bot.mirrortab.calls_to("/new_session")[0].json()
    assert sent["duration_min"] == 20 and sent["urls"] == ["https://a.example", "https://b.example"]


async def test_a_form_with_a_bad_url_is_answered_on_the_field(bot: Harness) -> None:
    ack = await bot.send(
        bot.slack.view_submission(
            "cobrowse_new",
            {"urls": {"urls": {"type": "plain_text_input", "value": "ftp://a.example"}}},
            private_metadata=json.dumps({"channel_id": CHANNEL}),
            user_id=ANN,
        )
    )
    assert ack.json() == {"response_action": "errors", "errors": {"urls": ack.json()["errors"]["urls"]}}
    assert "not a web address" in ack.json()["errors"]["urls"]
    assert not bot.mirrortab.calls


# -- the Slack side's own resilience ------------------------------------------------------------------------------


async def test_a_slack_429_is_retried_after_retry_after_and_the_card_still_posts(bot: Harness) -> None:
    bot.slack.faults.inject("/api/chat.postMessage", "429")
    await bot.command("new https://a.example --name Patient")
    card = await bot.card()
    assert "Patient" in text_of(card)
    attempts = [c for c in bot.slack.calls if c.path == "/api/chat.postMessage"]
    assert len(attempts) == 2


async def test_health_fails_when_the_scheduler_is_down(bot: Harness) -> None:
    assert bot.runtime.scheduler is not None
    bot.runtime.scheduler.shutdown(wait=False)
    async with bot.http.get(bot.url + "/healthz") as resp:
        assert resp.status == 503


async def test_a_session_cohost_did_not_start_may_be_ended_only_by_an_admin(bot: Harness) -> None:
    session_id = bot.mirrortab.add_session("Started elsewhere")
    await bot.command(f"end {session_id}", user=BOB)
    assert "Cohost did not start this session" in await bot.private()
    assert session_id in bot.mirrortab.sessions
    await bot.command(f"end {session_id}", user=ADA)
    assert f"Ended MirrorTab session `{session_id}`" in await bot.private(2)
    assert session_id not in bot.mirrortab.sessions
