"""The App Home tab, over real HTTP: published when a person opens it and whenever one of their cards starts or
closes; its buttons are the cards' own and work from there; digests can be turned off by their subscriber or an
admin alone; admins see each vendor's state; nothing of another workspace shows or is reached from it."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.offline import Console
from handlers import scheduled
from handlers.home.views import DIGEST_OFF
from sandbox.world import Sims
from services.clock import FakeClock
from services.store import NewCard
from tests.conftest import ADA, ANN, BOB, CAROL, CHANNEL, MIROTALK_ALL_ON, Harness
from tests.e2e.test_workspaces import ELSEWHERE, footprint
from tests.messages import actions_of, text_of
from tests.oauth import ACME, CHANNELS, GLOBEX, NAMES, PEOPLE, OAuthBot, start_oauth_bot

Home = dict[str, Any]


def home_of(bot: Harness, user: str) -> Home:
    return bot.slack.home_of(user) or {}


def buttons(home: Home, action_id: str) -> list[str]:
    """The values of the Home's buttons of `action_id` (session buttons, Turn off)."""
    found = [*actions_of(home)]
    found += [b["accessory"] for b in home.get("blocks", []) if b.get("accessory", {}).get("type") == "button"]
    return [str(b.get("value")) for b in found if b.get("action_id") == action_id]


async def home_when(bot: Harness, user: str, shows: Callable[[Home], bool], what: str) -> Home:
    """The person's Home once it shows what the test waits for (it is published in the background)."""
    await bot.slack.wait_for(lambda: shows(home_of(bot, user)), what=f"a Home that {what}")
    return home_of(bot, user)


async def open_home(bot: Harness, user: str, team: str | None = None) -> int:
    """The person opens Cohost's Home tab: Slack sends `app_home_opened`. Returns the HTTP status."""
    event = {"type": "app_home_opened", "user": user, "tab": "home", "channel": "D" + user}
    return (await bot.send(bot.slack.event_callback(team or bot.slack.team_id, event))).status


async def opened(bot: Harness, user: str) -> Home:
    """Opens the person's Home and returns what was published for it."""
    published = bot.slack.publishes_for(user)
    assert await open_home(bot, user) == 200
    await bot.slack.wait_for(lambda: bot.slack.publishes_for(user) > published, what="the Home published")
    return home_of(bot, user)


async def start(bot: Harness, text: str, *, user: str = ANN, command: str = "/cobrowse") -> str:
    """Starts a session or meeting; returns its vendor id once its card is up."""
    before = len(bot.slack.posted())
    assert (await bot.command(text, user=user, command=command)).status == 200
    await bot.slack.wait_for(lambda: len(bot.slack.posted()) > before, what="the card")
    card = bot.slack.posted()[before]
    return str(card["blocks"][1]["fields"][1]["text"].split("`")[1])


async def test_the_home_shows_exactly_the_persons_live_cards(bot: Harness) -> None:
    mine = await start(bot, "new https://a.example --name Mine")
    ended = await start(bot, "new https://b.example --name Ended")
    bobs = await start(bot, "new https://c.example --name Bobs", user=BOB)
    await bot.command(f"end {ended}")
    await bot.private()
    # A card of another workspace, started by someone with the same user id there.
    await bot.runtime.store.add_card(
        NewCard(ELSEWHERE, CHANNEL, "cobrowse", "mirrortab", "ELSEWHERE-SESSION", "Theirs", ANN, bot.clock.now())
    )

    home = await opened(bot, ANN)

    assert home["type"] == "home"
    assert buttons(home, "cobrowse_end") == [mine]
    shown = text_of(home)
    assert "Mine" in shown and f"`{mine}`" in shown and f"<#{CHANNEL}>" in shown and "<!date^" in shown
    for absent in ("Ended", ended, "Bobs", bobs, "Theirs", "ELSEWHERE-SESSION"):
        assert absent not in shown
    # Buttons to start something; the forms are opened by their own handlers.
    assert {"open_new_cobrowse", "open_new_meeting"} <= {e["action_id"] for e in actions_of(home)}
    assert "Vendors (admins only)" not in shown  # ann is no admin
    assert bot.slack.wrong_token_calls == []


async def test_end_from_the_home_ends_the_session_edits_its_card_and_republishes_the_home(bot: Harness) -> None:
    session = await start(bot, "new https://a.example --name Demo")
    card = bot.slack.posted()[0]
    home = await opened(bot, ANN)
    (value,) = buttons(home, "cobrowse_end")

    ack = await bot.send(bot.slack.home_action("cobrowse_end", value=value, user_id=ANN))

    assert ack.status == 200
    (edited,) = await bot.slack.wait_for_calls("chat.update")
    assert edited["channel"] == card["channel"] and f"Ended by <@{ANN}>" in text_of(edited)
    assert not actions_of(edited)
    assert session not in bot.mirrortab.sessions
    after = await home_when(bot, ANN, lambda h: not buttons(h, "cobrowse_end"), "no longer shows the session")
    assert "Demo" not in text_of(after)


@MIROTALK_ALL_ON
async def test_get_my_link_from_the_home_reaches_the_person_by_direct_message(bot: Harness) -> None:
    room = await start(bot, "new standup", command="/meeting")
    await bot.private()  # the creator's own link, after the card
    home = await opened(bot, ANN)
    (value,) = buttons(home, "meeting_my_link")
    assert room in value and buttons(home, "meeting_end")  # as the card has them
    posted = len(bot.slack.posted())

    assert (await bot.send(bot.slack.home_action("meeting_my_link", value=value, user_id=ANN))).status == 200

    await bot.slack.wait_for(lambda: len(bot.slack.posted()) > posted, what="the link")
    (dm,) = bot.slack.posted()[posted:]
    assert dm["channel"] == "D" + ANN  # a direct message: no channel sees it
    assert f"Your link to MiroTalk room `{room}`" in dm["text"] and "http" in dm["text"]
    assert not bot.slack.ephemerals()


async def digest_of(bot: Harness) -> object:
    return await bot.runtime.store.digest(bot.slack.team_id, CHANNEL, "cobrowse")


async def test_a_digest_is_turned_off_from_the_home_by_its_subscriber_and_not_by_a_stranger(bot: Harness) -> None:
    assert (await bot.command("digest daily 09:00 --tz UTC")).status == 200
    await bot.private()
    value = f"{CHANNEL}:cobrowse"

    bobs = await opened(bot, BOB)
    assert "Co-browsing* digest in" in text_of(bobs) and "Daily at 09:00 UTC" in text_of(bobs)
    assert buttons(bobs, DIGEST_OFF) == []  # bob neither subscribed nor is an admin
    posted = len(bot.slack.posted())
    await bot.send(bot.slack.home_action(DIGEST_OFF, value=value, user_id=BOB))  # clicked all the same
    await bot.slack.wait_for(lambda: len(bot.slack.posted()) > posted, what="bob told why not")
    (told,) = bot.slack.posted()[posted:]
    assert told["channel"] == "D" + BOB and f"Only <@{ANN}> (who set it up)" in told["text"]
    assert await digest_of(bot) is not None

    anns = await opened(bot, ANN)
    assert buttons(anns, DIGEST_OFF) == [value]
    posted = len(bot.slack.posted())
    await bot.send(bot.slack.home_action(DIGEST_OFF, value=value, user_id=ANN))
    await bot.slack.wait_for(lambda: len(bot.slack.posted()) > posted, what="ann told")
    assert "digest of" in bot.slack.posted()[posted]["text"] and "is off" in bot.slack.posted()[posted]["text"]
    assert await digest_of(bot) is None
    await home_when(bot, ANN, lambda h: "Daily at 09:00" not in text_of(h), "no longer lists the digest")


async def test_an_admin_turns_off_anyones_digest_from_the_home(bot: Harness) -> None:
    assert (await bot.command("digest daily 09:00 --tz UTC")).status == 200
    await bot.private()
    for admin in (ADA, CAROL):  # a workspace admin, a COHOST_ADMINS member
        assert buttons(await opened(bot, admin), DIGEST_OFF) == [f"{CHANNEL}:cobrowse"]
    await bot.send(bot.slack.home_action(DIGEST_OFF, value=f"{CHANNEL}:cobrowse", user_id=CAROL))
    await bot.slack.wait_for(lambda: bot.slack.posted() != [], what="carol told")
    assert await digest_of(bot) is None


@pytest.fixture
def overrides() -> dict[str, Any]:
    """SameSurf is off throughout this module, so an admin's Home has a vendor that is off to show."""
    return {"SAMESURF_API_KEY": ""}


async def test_admins_see_each_vendors_state_and_others_do_not(bot: Harness) -> None:
    bot.mirrortab.faults.inject("*", "500", times=10)
    await bot.command("new https://a.example --name Demo")
    assert "MirrorTab" in await bot.private()  # the failure, told the caller; MirrorTab's layer saw it too

    home = await opened(bot, ADA)

    shown = text_of(home)
    assert "Vendors (admins only)" in shown
    assert "*MirrorTab* failing: MirrorTab had an internal error (HTTP 500)" in shown
    assert "*SameSurf* off: set `SAMESURF_API_KEY` to turn it on." in shown
    assert ":large_green_circle: *Coviu* on" in shown and ":large_green_circle: *MiroTalk* on" in shown
    for secret in (bot.runtime.settings.vendors.values[name] for name in ("MIRRORTAB_API_KEY", "COVIU_API_SECRET")):
        assert secret not in json.dumps(home)
    assert "Vendors (admins only)" not in text_of(await opened(bot, BOB))


async def test_the_home_is_published_again_when_a_card_starts_and_when_the_scheduler_expires_it(bot: Harness) -> None:
    # Ann never opened the Home: it is published for her all the same, once her card is up.
    session = await start(bot, "new https://a.example --name Demo --minutes 30")
    await home_when(bot, ANN, lambda h: buttons(h, "cobrowse_end") == [session], "shows the new session")
    published = bot.slack.publishes_for(ANN)

    bot.advance(31)
    await scheduled.run_due_jobs(bot.runtime.deps)

    expired = await home_when(bot, ANN, lambda h: not buttons(h, "cobrowse_end"), "no longer shows it")
    assert "Demo" not in text_of(expired) and bot.slack.publishes_for(ANN) > published
    assert any(":hourglass: Expired" in text_of(u) for u in bot.slack.api_calls("chat.update"))


async def test_a_scheduled_session_shows_as_upcoming(bot: Harness) -> None:
    await bot.command("schedule in 2h --name Later", command="/meeting")
    home = await home_when(bot, ANN, lambda h: "Later" in text_of(h), "shows the scheduled meeting")
    blocks = home["blocks"]
    upcoming = next(
        i for i, b in enumerate(blocks) if b.get("text", {}).get("text") == "Your upcoming sessions and meetings"
    )
    later = next(i for i, b in enumerate(blocks) if "Later" in json.dumps(b))
    assert later > upcoming


async def test_a_home_click_or_open_from_another_workspace_does_nothing(bot: Harness) -> None:
    session = await start(bot, "new https://a.example --name Demo")
    await home_when(bot, ANN, lambda h: bool(buttons(h, "cobrowse_end")), "shows the session")
    before = await footprint(bot)

    forged = bot.slack.home_action("cobrowse_end", value=session, user_id=ANN, team_id=ELSEWHERE)
    assert ((await bot.send(forged)).status, await open_home(bot, ANN, ELSEWHERE)) == (200, 200)

    await asyncio.sleep(0.3)  # room for wrongly started work to show up
    assert await footprint(bot) == before
    assert session in bot.mirrortab.sessions


async def test_a_home_that_cannot_be_published_never_fails_the_card(bot: Harness) -> None:
    bot.slack.home_tab_enabled = False  # Slack answers `not_enabled`
    session = await start(bot, "new https://a.example --name Demo")
    await bot.slack.wait_for(lambda: any(c.path == "/api/views.publish" for c in bot.slack.calls), what="a try")
    await bot.command(f"end {session}")
    assert "Ended MirrorTab session" in await bot.private()


async def test_the_offline_prompt_prints_the_home_and_its_buttons_click(bot: Harness) -> None:
    out = io.StringIO()
    console = Console(bot.slack, bot.events_url, bot.http, out)

    async def ask(prompt: str) -> str:
        raise AssertionError("no form here")

    await console.handle("/cobrowse new https://a.example --name Demo", ask)
    session = next(iter(bot.mirrortab.sessions))
    await console.handle("home", ask)
    printed = out.getvalue().split("[your Home]")[-1]
    assert "Demo" in printed and session in printed and "Your live sessions and meetings" in printed
    end = next(c for c in reversed(console.clickables) if c.action_id == "cobrowse_end")
    assert end.on_home
    await console.handle(str(console.clickables.index(end) + 1), ask)
    assert session not in bot.mirrortab.sessions


# -- many workspaces ---------------------------------------------------------------------------------------------------


@pytest.fixture
async def oauth(sims: Sims, clock: FakeClock, tmp_path: Path) -> AsyncIterator[OAuthBot]:
    async for bot in start_oauth_bot(sims, clock, tmp_path / "cohost.db"):
        yield bot


async def test_each_workspaces_home_is_its_own_published_with_its_own_token(oauth: OAuthBot) -> None:
    slack, mirrortab = oauth.slack, oauth.sims.mirrortab
    for team in (ACME, GLOBEX):
        assert (await oauth.install(team)).status == 200
    started: dict[str, str] = {}
    for team in (ACME, GLOBEX):
        known = set(mirrortab.sessions)
        await oauth.command(team, f"new https://a.example --name {NAMES[team]}-demo")
        channel = CHANNELS[team]
        await slack.wait_for(lambda: len(slack.posted(channel)) == 1, what=f"{team}'s card")  # noqa: B023
        (started[team],) = set(mirrortab.sessions) - known

    for team, other in ((ACME, GLOBEX), (GLOBEX, ACME)):
        event = {"type": "app_home_opened", "user": PEOPLE[team], "tab": "home", "channel": "D" + PEOPLE[team]}
        assert (await oauth.send(slack.event_callback(team, event)))[0] == 200

        def shows_own(team: str = team) -> bool:
            return started[team] in json.dumps(slack.home_of(PEOPLE[team], team) or {})

        await slack.wait_for(shows_own, what=f"{team}'s Home")
        home = json.dumps(slack.home_of(PEOPLE[team], team))
        assert started[other] not in home and f"{NAMES[other]}-demo" not in home
    # Every Home went out with the token of the person's own workspace.
    assert {(team, slack.users[p["user_id"]].team_id) for team, p in slack.teams_of("views.publish")} == {
        (ACME, ACME),
        (GLOBEX, GLOBEX),
    }

    # A Globex person's Home click naming Acme's session finds nothing of Acme's.
    posted = len(slack.posted())
    click = slack.home_action("cobrowse_end", value=started[ACME], user_id=PEOPLE[GLOBEX], team_id=GLOBEX)
    assert (await oauth.send(click))[0] == 200
    await slack.wait_for(lambda: len(slack.posted()) > posted, what="the Globex person told")
    (told,) = slack.posted()[posted:]
    assert told["channel"] == "D" + PEOPLE[GLOBEX] and "This workspace did not start this session" in told["text"]
    assert started[ACME] in mirrortab.sessions and not slack.api_calls("chat.update")
    assert slack.wrong_token_calls == []
