"""Workspaces are walls in what Cohost lists, over real HTTP (OAuth mode): Acme and Globex installed Cohost
through the pages and share every vendor account. Each workspace's digests (posted publicly in its channel),
`/cobrowse rooms`, `/cobrowse report` and the stats name only the sessions it started; a room of the other
workspace is answered as one not found; and the vendors' account-wide figures, which count both workspaces, are
left out with one line saying why.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Collection
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from handlers import scheduled
from handlers.digest.sending import send_due_digests
from sandbox.world import Sims
from services.clock import FakeClock
from tests.conftest import MIROTALK_ALL_ON
from tests.messages import text_of
from tests.oauth import (
    ACME,
    CHANNELS,
    GLOBEX,
    NAMES,
    PEOPLE,
    OAuthBot,
    both_installed,
    card_in,
    digest_in,
    private_answer,
    start_oauth_bot,
)

SHARED_NOTE = "account-wide figures are left out: the account is shared with other workspaces"
OTHER = {ACME: GLOBEX, GLOBEX: ACME}


@pytest.fixture
async def oauth(sims: Sims, clock: FakeClock, tmp_path: Path) -> AsyncIterator[OAuthBot]:
    async for bot in start_oauth_bot(sims, clock, tmp_path / "cohost.db"):
        await both_installed(bot)
        yield bot
        assert bot.slack.wrong_token_calls == []


async def started(
    oauth: OAuthBot, team: str, text: str, sessions: Callable[[], Collection[str]], command: str = "/cobrowse"
) -> str:
    """Starts a session from `team`'s channel; returns the id its vendor gave it (the one new in `sessions()`)."""
    before = set(sessions())
    await card_in(oauth, team, text, command=command)
    (new,) = set(sessions()) - before
    return new


async def answer(oauth: OAuthBot, team: str, text: str, command: str = "/cobrowse") -> str:
    """The private answer to `team`'s command: its text and blocks, as the person reads them."""
    body = await private_answer(oauth, team, text, command=command)
    return str(body.get("text", "")) + json.dumps(body.get("blocks") or [], ensure_ascii=False)


async def digests_sent(oauth: OAuthBot) -> dict[str, str]:
    """Runs the scheduler's digest sending (the subscriptions are due) and returns each workspace's digest."""
    await send_due_digests(oauth.runtime.deps)

    def digest_of(team: str) -> list[dict[str, Any]]:
        return [p for p in oauth.slack.posted(CHANNELS[team]) if " digest · " in str(p.get("text"))]

    await oauth.slack.wait_for(lambda: all(digest_of(team) for team in NAMES), what="both workspaces' digests")
    return {team: text_of(digest_of(team)[-1]) for team in NAMES}


def room_in_history(oauth: OAuthBot, room: str, minutes: int, **details: Any) -> None:
    """SameSurf's analytics record the room Cohost created, under the title Cohost gave it (samesurf.txt:
    `title` "will show in analytics")."""
    created = oauth.sims.samesurf.rooms[room]
    date = oauth.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    oauth.sims.samesurf.seed_analytics_room(room, created["title"], date, minutes * 60, **details)


async def test_the_cobrowse_digest_names_only_the_workspaces_own_sessions_and_rooms(oauth: OAuthBot) -> None:
    ids: dict[str, list[str]] = {}
    for team, name in NAMES.items():
        await digest_in(oauth, team, "12:30")
        tab = await started(
            oauth,
            team,
            f"new https://{name.lower()}.example/shop --name {name}-checkout",
            lambda: oauth.sims.mirrortab.sessions,
        )
        room = await started(
            oauth,
            team,
            f"new https://{name.lower()}.example/docs --provider samesurf --name {name}-docs",
            lambda: oauth.sims.samesurf.rooms,
        )
        room_in_history(oauth, room, 10)
        ids[team] = [tab, room]
    oauth.clock.advance(timedelta(minutes=31))

    sent = await digests_sent(oauth)
    for team, name in NAMES.items():
        text, other = sent[team], NAMES[OTHER[team]]
        assert f"{name}-checkout" in text and f"{name}-docs" in text
        assert all(f"`{vendor_id}`" in text for vendor_id in ids[team])
        assert "*Live sessions now* (1)" in text and "*Rooms in this period* (1)" in text
        # Nothing of the other workspace: its names, ids, and the URLs SameSurf's overview would have named.
        assert other not in text and other.lower() not in text
        assert not any(vendor_id in text for vendor_id in ids[OTHER[team]])
        assert f"SameSurf's {SHARED_NOTE}" in text and "*Rooms today*" not in text


@MIROTALK_ALL_ON
async def test_the_meeting_digest_names_only_the_workspaces_own_meetings_and_sessions(oauth: OAuthBot) -> None:
    coviu_ids: dict[str, list[str]] = {}
    for team, name in NAMES.items():
        await digest_in(oauth, team, "12:30", command="/meeting")
        await card_in(oauth, team, f"new {name.lower()}-standup", command="/meeting")
        oauth.sims.mirotalk.add_peer(f"{name.lower()}-standup", f"{name} guest")
        sessions = lambda: oauth.sims.coviu.sessions  # noqa: E731
        ran = await started(
            oauth, team, f"new --provider coviu --minutes 20 --name {name}-checkup", sessions, "/meeting"
        )
        to_come = await started(
            oauth, team, f'schedule "2026-11-25 10:00" --name {name}-follow-up', sessions, "/meeting"
        )
        coviu_ids[team] = [ran, to_come]
    oauth.clock.advance(timedelta(minutes=21))  # each checkup ran 12:00 to 12:20: its card expires, ended
    await scheduled.run_due_jobs(oauth.runtime.deps)
    await oauth.slack.wait_for(lambda: len(oauth.slack.api_calls("chat.update")) == 2, what="both cards expired")
    oauth.clock.advance(timedelta(minutes=10))

    sent = await digests_sent(oauth)
    for team, name in NAMES.items():
        text, other = sent[team], NAMES[OTHER[team]]
        assert f"`{name.lower()}-standup` · 1 in the room: {name} guest" in text and "*Live meetings* (1)" in text
        # Coviu's figures are this workspace's sessions alone: one in the period (its card ended in it, and still
        # counts), its 20 minutes, one to come.
        assert "*Sessions in this period*\\n1" in text and "*Minutes*\\n20" in text and "*Upcoming*\\n1" in text
        assert f"{name}-follow-up" in text
        assert other not in text and other.lower() not in text
        assert not any(session_id in text for session_id in coviu_ids[OTHER[team]])
        assert f"MiroTalk's {SHARED_NOTE}" in text and "*Rooms now*" not in text


async def test_rooms_and_reports_show_a_workspace_its_own_rooms_alone(oauth: OAuthBot) -> None:
    rooms: dict[str, list[str]] = {ACME: [], GLOBEX: []}
    for team, name in (*NAMES.items(), (ACME, "Acme-second")):
        text = f"new https://{name.lower()}.example --provider samesurf --name {name}-demo"
        room = await started(oauth, team, text, lambda: oauth.sims.samesurf.rooms)
        host = {"name": f"{name} host", "host": True, "joinedat": "2026-11-23T12:00:00Z"}
        room_in_history(
            oauth, room, 5, users=[host], events=[{"type": "url", "data": f"https://{name.lower()}.example"}]
        )
        rooms[team].append(room)
        oauth.clock.advance(timedelta(minutes=1))  # the next room is newer
    oauth.sims.samesurf.seed_analytics_room("900000001", "Started outside Cohost", "2026-11-23T11:00:00Z", 60)
    first, second = rooms[ACME]

    listed = await answer(oauth, ACME, "rooms")
    assert "Acme-demo" in listed and "Acme-second-demo" in listed
    assert "Globex" not in listed and "Started outside Cohost" not in listed and "in all" not in listed
    paged = await answer(oauth, ACME, "rooms --take 1")
    assert second in paged and first not in paged and "Next page: `/cobrowse rooms --skip 1`" in paged
    globex_rooms = await answer(oauth, GLOBEX, "rooms")
    assert rooms[GLOBEX][0] in globex_rooms and not any(room in globex_rooms for room in rooms[ACME])

    own = await answer(oauth, ACME, f"report {first}")
    assert "Acme host (host)" in own and "https://acme.example" in own
    asked = len(oauth.sims.samesurf.calls_to("/api/v3/roomanalytics"))
    theirs = await answer(oauth, ACME, f"report {rooms[GLOBEX][0]} --version 0")
    assert "*SameSurf*" in theirs and "is not one this workspace started" in theirs
    assert "`/cobrowse rooms` lists this workspace's rooms" in theirs
    assert f"/cobrowse report {rooms[GLOBEX][0]} --version 0" in theirs  # the command as typed, given back
    assert "Globex" not in theirs and "globex.example" not in theirs
    assert len(oauth.sims.samesurf.calls_to("/api/v3/roomanalytics")) == asked  # SameSurf was not asked
    # Another workspace's room and a room that does not exist get the same answer: nothing tells them apart.
    missing = await answer(oauth, ACME, "report 123456789 --version 0")
    assert missing.replace("123456789", rooms[GLOBEX][0]) == theirs


@MIROTALK_ALL_ON
async def test_stats_count_the_workspaces_own_live_sessions_and_leave_account_wide_figures_out(oauth: OAuthBot) -> None:
    for team, name in NAMES.items():
        await card_in(oauth, team, f"new https://{name.lower()}.example --name {name}-tab")
        await card_in(oauth, team, f"new {name.lower()}-sync", command="/meeting")
        oauth.sims.mirotalk.add_peer(f"{name.lower()}-sync", f"{name} guest")
    await card_in(oauth, ACME, "new https://acme.example/two --name Acme-tab-two")

    acme = await answer(oauth, ACME, "stats")
    assert "MirrorTab: 2 live" in acme and f"SameSurf's {SHARED_NOTE}" in acme and "Rooms today" not in acme
    assert "MirrorTab: 1 live" in await answer(oauth, GLOBEX, "stats")
    meeting_stats = await answer(oauth, ACME, "stats", command="/meeting")
    assert "acme-sync* · 1 in the room: Acme guest" in meeting_stats
    assert "Globex" not in meeting_stats and "globex-sync" not in meeting_stats
    assert f"MiroTalk's {SHARED_NOTE}" in meeting_stats and "People now" not in meeting_stats


@MIROTALK_ALL_ON
async def test_not_even_an_admin_reaches_another_workspaces_session_by_its_id(oauth: OAuthBot) -> None:
    oauth.slack.add_user(PEOPLE[GLOBEX], "bob", team_id=GLOBEX, is_admin=True)  # Globex's workspace admin
    tab = await started(oauth, ACME, "new https://acme.example --name Acme-tab", lambda: oauth.sims.mirrortab.sessions)
    text = "new https://acme.example --provider samesurf --name Acme-room"
    room = await started(oauth, ACME, text, lambda: oauth.sims.samesurf.rooms)
    await card_in(oauth, ACME, "new acme-sync", command="/meeting")
    invitations = len(oauth.sims.samesurf.invitations)

    ending = await answer(oauth, GLOBEX, f"end {tab}")
    assert "This workspace did not start this session" in ending and "`/cobrowse list`" in ending
    assert tab in oauth.sims.mirrortab.sessions  # MirrorTab was not asked to end it
    ending = await answer(oauth, GLOBEX, "end acme-sync", command="/meeting")
    assert "This workspace did not start this meeting" in ending and not oauth.sims.mirotalk.ended
    inviting = await answer(oauth, GLOBEX, f"invite {room} --leader")
    assert "is not one this workspace started" in inviting and "`/cobrowse rooms`" in inviting
    assert len(oauth.sims.samesurf.invitations) == invitations  # no invitation to Acme's room was made
