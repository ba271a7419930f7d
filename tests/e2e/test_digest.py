"""Digests end to end: `digest daily|weekly|off|show` over signed requests, and `send_due_digests` (what the
scheduler calls) posting to the Slack stand-in with every vendor simulator on the test's clock."""

from __future__ import annotations

import asyncio
import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from handlers.core.interaction import Deps
from handlers.digest.sending import send_due_digests
from sandbox.mirotalk import SWITCHABLE
from services.store import NewUpload
from tests.conftest import ANN, BOB, CHANNEL, Harness
from tests.messages import text_of

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
COMMANDS = {"cobrowse": "/cobrowse", "meeting": "/meeting", "upload": "/upload"}
OTHER_CHANNEL = "C0SUPPORT"


def epoch(year: int, month: int, day: int, hour: int, minute: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp())


def deps_of(bot: Harness) -> Deps:
    return bot.runtime.deps


async def digest(bot: Harness, text: str, *, family: str = "cobrowse", user: str = ANN, channel: str = CHANNEL) -> str:
    """Sends `/<family> digest ...` and returns the private answer it got."""
    before = len(bot.slack.responses)
    ack = await bot.command(f"digest {text}", command=COMMANDS[family], user=user, channel=channel)
    assert ack.status == 200
    return await bot.private(before + 1)


def digests(bot: Harness, channel: str = CHANNEL) -> list[dict[str, Any]]:
    """The digests posted in a channel (its cards are posted there too)."""
    return [p for p in bot.slack.posted(channel) if " digest · " in text_of(p)]


async def send_and_wait(bot: Harness, count: int = 1, channel: str = CHANNEL) -> dict[str, Any]:
    """Runs the sender (as the scheduler would) and returns the `count`-th digest of the channel."""
    await send_due_digests(deps_of(bot))
    await bot.slack.wait_for(lambda: len(digests(bot, channel)) >= count, what=f"{count} digest(s)")
    return digests(bot, channel)[count - 1]


# -- subscribing -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("family", ["cobrowse", "meeting", "upload"])
async def test_subscribe_show_and_off_in_the_zone_given(bot: Harness, family: str) -> None:
    answer = await digest(bot, "daily 9:00 --tz Europe/London", family=family)
    next_run = f"<!date^{epoch(2026, 11, 24, 9)}^"  # the clock says 12:00 UTC on 23 Nov: tomorrow 09:00 GMT
    assert "Daily at 09:00 Europe/London" in answer and next_run in answer
    shown = await digest(bot, "show", family=family)
    assert "Daily at 09:00 Europe/London, next" in shown and next_run in shown
    assert "digest of this channel is off" in await digest(bot, "off", family=family)
    assert "has no" in await digest(bot, "show", family=family)
    assert "had no" in await digest(bot, "off", family=family)
    assert not bot.slack.posted()  # all of it for the caller alone


async def test_weekly_in_the_callers_own_zone_and_one_subscription_per_channel_and_family(bot: Harness) -> None:
    answer = await digest(bot, "weekly FRIDAY 17:30", user=BOB)  # bob lives in America/New_York
    assert "Weekly on Friday at 17:30 America/New_York" in answer
    assert f"<!date^{epoch(2026, 11, 27, 22, 30)}^" in answer  # 17:30 EST
    await digest(bot, "daily 08:00", family="meeting")  # ann, Europe/London: another family, its own digest
    await digest(bot, "weekly mon 07:15 --tz Asia/Tokyo", user=BOB)  # replaces bob's Friday one
    assert "Weekly on Monday at 07:15 Asia/Tokyo" in await digest(bot, "show")
    assert "Daily at 08:00 Europe/London" in await digest(bot, "show", family="meeting")
    assert "has no" in await digest(bot, "show", channel=OTHER_CHANNEL)


@pytest.mark.parametrize(
    ("typed", "problem", "usage"),
    [
        ("weekly someday 09:00", "`someday` is not a day", "/cobrowse digest weekly DAY HH:MM [--tz ZONE]"),
        ("weekly tues 09:00", "`tues` is not a day", "/cobrowse digest weekly DAY HH:MM [--tz ZONE]"),
        ("daily 25:00", "`25:00` is not a time of day", "/cobrowse digest daily HH:MM [--tz ZONE]"),
        ("daily 9am", "`9am` is not a time of day", "/cobrowse digest daily HH:MM [--tz ZONE]"),
        ("daily 09:00 --tz Mars/Olympus", "`Mars/Olympus` is not a time zone", "/cobrowse digest daily HH:MM"),
    ],
)
async def test_bad_day_time_or_zone_is_answered_privately_with_usage(
    bot: Harness, typed: str, problem: str, usage: str
) -> None:
    answer = await digest(bot, typed)
    assert problem in answer and f"Usage: `{usage}" in answer and f"/cobrowse digest {typed}" in answer
    assert await bot.runtime.store.digest(bot.slack.team_id, CHANNEL, "cobrowse") is None


# -- content -----------------------------------------------------------------------------------------------------


async def test_daily_cobrowse_digest(bot: Harness) -> None:
    bot.samesurf.seed_analytics_room("4001", "Onboarding Acme", "2026-11-23T08:00:00Z", 1800)
    bot.samesurf.seed_analytics_room("4002", "Claims walkthrough", "2026-11-22T20:00:00Z", 600)
    bot.samesurf.seed_analytics_room("3999", "Last week's demo", "2026-11-16T10:00:00Z", 900)
    await digest(bot, "daily 12:30")  # ann: Europe/London, GMT in November
    await bot.command('new https://shop.example --name "Checkout help" --minutes 60')
    await bot.card()
    await bot.command('new https://docs.example --provider samesurf --name "Docs tour"')
    await bot.card(2)
    bot.advance(31)
    posted = await send_and_wait(bot)
    text = text_of(posted)
    assert "Co-browsing digest · daily" in text
    assert "Onboarding Acme" in text and "Claims walkthrough" in text and "Last week's demo" not in text
    assert "*Rooms today*" in text and "*Average this week*" in text  # SameSurf's overview, by its own clock
    assert "Latest URL: https://docs.example" in text
    assert "*MirrorTab*" in text and "Checkout help" in text and "*Live sessions now* (1)" in text
    assert "/go/" not in text  # no join link goes to a channel by way of a digest
    assert "in this period: MirrorTab 1 · SameSurf 1" in text
    assert len(posted["blocks"]) < 50


@pytest.mark.parametrize("mirotalk_switched_on", [frozenset(SWITCHABLE)], ids=["mirotalk-all-on"])
async def test_daily_meeting_digest(bot: Harness) -> None:
    await digest(bot, "daily 12:30", family="meeting")
    await bot.command("new --provider coviu --minutes 20 --name Checkup", command="/meeting")
    await bot.card()
    await bot.command('schedule "2026-11-25 10:00" --name Follow-up', command="/meeting")
    await bot.card(2)
    bot.mirotalk.add_peer("standup", "Patient")
    bot.mirotalk.add_peer("standup", "Dr Who", screen=True)
    bot.advance(31)  # Checkup ran 12:01 to 12:21
    text = text_of(await send_and_wait(bot))
    assert "Meetings digest · daily" in text
    assert "*Rooms now*\\n1" in text and "*People now*\\n2" in text
    assert "`standup` · 2 in the room: Patient, Dr Who (1 sharing a screen)" in text
    assert "*Sessions in this period*\\n1" in text and "*Minutes*\\n20" in text and "*Upcoming*\\n1" in text
    assert "Follow-up" in text and "Checkup" not in text.split("Next up")[1]
    assert "in this period: MiroTalk 0 · Coviu 2" in text


async def test_the_meeting_digest_finds_coviu_sessions_by_their_times_whatever_their_participants_states(
    bot: Harness,
) -> None:
    await digest(bot, "daily 12:30", family="meeting")
    now = bot.clock.now()  # 12:00; the digest goes at 12:31 and covers the day before it
    coviu = bot.coviu
    coviu.seed_session("Marathon", now - timedelta(days=2), now + timedelta(hours=2), participant_states=("running",))
    coviu.seed_session("Morning", now - timedelta(hours=4), now - timedelta(hours=3), participant_states=("upcoming",))
    coviu.seed_session("Tonight", now + timedelta(hours=8), now + timedelta(hours=9), participant_states=("done",))
    coviu.seed_session("Tomorrow", now + timedelta(days=1), now + timedelta(days=1, hours=1))
    coviu.seed_session("Dropped", now + timedelta(hours=5), now + timedelta(hours=6), canceled=True)
    coviu.seed_session("Last week", now - timedelta(days=7), now - timedelta(days=7) + timedelta(hours=1))
    bot.advance(31)
    text = text_of(await send_and_wait(bot))
    # Marathon ran the whole day of the period (1,440 min), Morning an hour; Tonight and Tomorrow are to come.
    assert "*Sessions in this period*\\n2" in text and "*Minutes*\\n1500" in text and "*Upcoming*\\n2" in text
    next_up = text.split("Next up")[1]
    assert next_up.index("Tonight") < next_up.index("Tomorrow")
    for not_upcoming in ("Marathon", "Morning", "Dropped", "Last week"):
        assert not_upcoming not in next_up


async def test_daily_upload_digest_flags_removed_files_and_keeps_to_its_channel(bot: Harness) -> None:
    store, now = bot.runtime.store, bot.clock.now()
    kept = bot.mirrorace.add_file("report.pdf", 35_892)
    gone = bot.mirrorace.add_file("leak.zip", 1_048_576, status="copyright removed")
    elsewhere = bot.mirrorace.add_file("private.docx", 100)
    for name, slug, channel in (
        ("report.pdf", kept, CHANNEL),
        ("leak.zip", gone, CHANNEL),
        ("private.docx", elsewhere, OTHER_CHANNEL),
    ):
        await store.add_upload(
            NewUpload("T0SANDBOX", channel, ANN, "url", name, 1000, slug, f"https://mirrorace.example/m/{slug}", now)
        )
    await digest(bot, "daily 12:30", family="upload")
    bot.advance(31)
    text = text_of(await send_and_wait(bot))
    assert "Uploads digest · daily" in text and "*Files mirrored in this period* (2) · :no_entry: 1 removed" in text
    assert f"report.pdf `{kept}`" in text and f":no_entry: leak.zip `{gone}`" in text and "copyright removed" in text
    assert "private.docx" not in text
    assert "in this period: MirrorAce 2" in text


async def test_a_failing_vendor_is_named_and_the_rest_goes_out(bot: Harness) -> None:
    bot.samesurf.seed_analytics_room("4001", "Onboarding Acme", "2026-11-23T08:00:00Z", 1800)
    bot.mirrortab.faults.inject("/list_sessions", "500", times=10)
    await digest(bot, "daily 12:30")
    bot.advance(31)
    posted = await send_and_wait(bot)
    text = text_of(posted)
    assert ":warning: *MirrorTab* is missing from this digest:" in text
    assert "Onboarding Acme" in text  # SameSurf's part is all there
    assert "missing: MirrorTab" in posted["text"]


async def test_weekly_digest_carries_a_png_chart_uploaded_to_its_channel(bot: Harness) -> None:
    await digest(bot, "weekly monday 12:30")  # Monday 23 Nov, 12:00 now
    await bot.command('new https://shop.example --name "Checkout help"')
    await bot.card()
    bot.advance(31)
    text = text_of(await send_and_wait(bot))
    assert "Co-browsing digest · weekly" in text
    (completed,) = await bot.slack.wait_for_calls("files.completeUploadExternal")
    assert completed["channel_id"] == CHANNEL
    (file_id,) = [f["id"] for f in json.loads(completed["files"])]
    assert bot.slack.files[file_id].startswith(PNG_SIGNATURE)
    next_week = f"<!date^{epoch(2026, 11, 30, 12, 30)}^"
    assert next_week in await digest(bot, "show")


async def test_a_chart_that_cannot_be_shared_is_named_and_the_digest_is_not_sent_again(bot: Harness) -> None:
    await digest(bot, "weekly mon 12:30")
    bot.slack.faults.inject("/api/files.getUploadURLExternal", "500")
    bot.advance(31)
    posted = await send_and_wait(bot)
    (noted,) = await bot.slack.wait_for_calls("chat.update")
    assert noted["ts"] == posted["ts"] and "This week's chart could not be shared here" in text_of(noted)
    assert await send_due_digests(deps_of(bot)) == 0 and len(digests(bot)) == 1
    assert f"<!date^{epoch(2026, 11, 30, 12, 30)}^" in await digest(bot, "show")


# -- delivery ----------------------------------------------------------------------------------------------------


@pytest.mark.slow
async def test_a_429_is_waited_out_and_the_digest_arrives_once(bot: Harness) -> None:
    await digest(bot, "daily 12:30")
    bot.slack.faults.inject("/api/chat.postMessage", "429", times=1)
    bot.advance(31)
    await send_and_wait(bot)
    await asyncio.sleep(0.2)
    assert len(digests(bot)) == 1


class TestOnSQLiteAndPostgreSQL:
    """Leases decide who sends what: these run on each database the bot supports."""

    @pytest.fixture
    def overrides(self, database_url: str) -> dict[str, Any]:
        return {"DATABASE_URL": database_url}

    @pytest.mark.slow
    async def test_a_429_past_the_clients_retries_leaves_the_digest_for_the_next_run(self, bot: Harness) -> None:
        await digest(bot, "daily 12:30")
        bot.slack.faults.inject("/api/chat.postMessage", "429", times=4)  # the client's three retries all refused
        bot.advance(31)
        await send_due_digests(deps_of(bot))
        assert not digests(bot)
        assert await send_due_digests(deps_of(bot)) == 0  # not before Slack's Retry-After
        bot.clock.advance(timedelta(seconds=2))
        await send_and_wait(bot)
        assert await send_due_digests(deps_of(bot)) == 0
        assert len(digests(bot)) == 1

    @pytest.mark.slow
    async def test_two_schedulers_send_each_digest_once_and_one_channels_posts_are_spaced(self, bot: Harness) -> None:
        for family in COMMANDS:
            await digest(bot, "daily 12:30", family=family)
        await digest(bot, "daily 12:30", channel=OTHER_CHANNEL)
        arrivals: list[float] = []
        loop = asyncio.get_running_loop()

        def three_here() -> bool:
            arrivals.extend(loop.time() for _ in range(len(digests(bot)) - len(arrivals)))
            return len(arrivals) >= 3

        bot.advance(31)
        waiting = asyncio.create_task(bot.slack.wait_for(three_here, within=10, what="three digests"))
        await asyncio.gather(send_due_digests(deps_of(bot)), send_due_digests(deps_of(bot)))
        await waiting
        await asyncio.sleep(0.2)
        titles = sorted(p["text"] for p in digests(bot))
        assert titles == ["Co-browsing digest · daily", "Meetings digest · daily", "Uploads digest · daily"]
        assert len(digests(bot, OTHER_CHANNEL)) == 1
        gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
        assert min(gaps) >= 0.9  # about one message a second in a channel


async def test_a_channel_the_bot_cannot_post_in_tells_the_subscriber_privately(bot: Harness) -> None:
    await digest(bot, "daily 12:30", channel="CX0GONE")  # the stand-in answers channel_not_found there
    bot.advance(31)
    await send_due_digests(deps_of(bot))
    await bot.slack.wait_for(lambda: bool(bot.slack.posted("D" + ANN)), what="a direct message")
    (told,) = bot.slack.posted("D" + ANN)
    assert "could not be posted in <#CX0GONE> (channel_not_found)" in told["text"]
    assert "/cobrowse digest off" in told["text"]
    sub = await bot.runtime.store.digest(bot.slack.team_id, "CX0GONE", "cobrowse")
    assert sub is not None and sub.next_run_at == datetime(2026, 11, 24, 12, 30, tzinfo=UTC)


async def test_next_run_keeps_the_wall_clock_time_across_a_dst_change(bot: Harness) -> None:
    bot.clock.advance(datetime(2027, 3, 27, 8, 30, tzinfo=UTC) - bot.clock.now())
    await digest(bot, "daily 09:00")  # ann: Europe/London; clocks go forward on 28 March 2027
    bot.clock.advance(timedelta(minutes=31))
    await send_and_wait(bot)
    shown = await digest(bot, "show")
    assert f"<!date^{epoch(2027, 3, 28, 8)}^" in shown  # 09:00 BST
