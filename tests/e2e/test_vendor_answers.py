"""Whatever the vendors answer, every card, list, stats view and digest still renders (DESIGN.md, "Trust and
safety": a vendor value out of range shows as unknown and never breaks the list it is in).

Property-based: hypothesis writes what each vendor's server answers (expiries in the year 50000 or before 1970,
numbers as strings, wrong types, missing fields, rows that are not rows, more rows than a message holds, a `more`
that never ends), the simulators answer it (`answer_with`), and the bot, over real HTTP, must still give each
caller a private answer that is not the internal-error text, post every digest, and show the vendors' text as
text.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import strategies as st

from handlers.digest.sending import send_due_digests
from services.store import NewUpload
from tests.conftest import ANN, CHANNEL, Harness
from tests.e2e.test_escaping import TYPED, Recorder, explore

INTERNAL_ERROR = "Something went wrong inside Cohost"
DIGEST_CRASH = "Cohost could not read it"
SLUGS = ("aaa111", "bbb222")
CHANNELS = {"/cobrowse": CHANNEL, "/meeting": "C0MEETINGS", "/upload": "C0FILES"}
A_LINK = "https://go.example/s/1"

SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(TYPED),
)
JUNK = st.recursive(
    SCALAR,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)
#: Times as vendors send them, and as they should not: epochs in s and ms, ISO text, far past year 9999, negative.
TIME = st.one_of(
    st.integers(min_value=1_700_000_000, max_value=1_900_000_000),
    st.integers(min_value=1_700_000_000_000, max_value=1_900_000_000_000),
    st.just("2026-11-23T12:30:00Z"),
    st.sampled_from([99999999999999999999999, 10**22, -1, -(10**12), 0, "+50000-01-01T00:00:00", "soon", "1e400"]),
    JUNK,
)
TEXT = st.one_of(st.text(max_size=40), st.sampled_from(TYPED), st.text(max_size=3000), JUNK)
ID = st.one_of(st.text(alphabet="abcdef0123456789", min_size=1, max_size=12), st.integers(min_value=0), JUNK)
LINK = st.one_of(st.just(A_LINK), st.just("javascript:alert(1)"), st.just(A_LINK + "|<!channel>"), JUNK)
COUNT = st.one_of(st.integers(min_value=0, max_value=500), st.from_regex(r"\A[0-9]{1,3}\Z"), JUNK)
MANY = 60  # more rows than a message shows (40)


def rows(row: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A list of rows, some of them not rows at all, sometimes more than a message holds; or no list at all."""
    return st.one_of(st.lists(st.one_of(row, JUNK), max_size=MANY), JUNK)


def maybe(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """An object with any of `fields` (each possibly missing)."""
    return st.fixed_dictionaries({}, optional=fields)


MIRRORTAB_SESSION = maybe(
    {"session_name": TEXT, "go_url": LINK, "gocode": TEXT, "kill_time_UTC": TIME, "kill_time": TIME}
)
MIRRORTAB_LIST = st.one_of(
    st.dictionaries(st.text(min_size=1, max_size=30), st.one_of(MIRRORTAB_SESSION, JUNK), max_size=MANY), JUNK
)
MIRRORTAB_NEW = st.one_of(
    maybe({"session_id": ID, "session_name": TEXT, "go_url": LINK, "gocode": TEXT, "kill_time_UTC": TIME}), JUNK
)
SAMESURF_RUNNING = st.one_of(
    maybe(
        {
            "rooms": rows(maybe({"room": ID, "starttime": TIME, "title": TEXT, "publicinvitation": LINK})),
            "totalrooms": st.one_of(COUNT, st.just(10**9)),
        }
    ),
    JUNK,
)
_OVERVIEW_FIGURES = ("rooms_total", "rooms_today", "rooms_thisweek", "rooms_thismonth")
_OVERVIEW_AVERAGES = ("averageduration_alltime", "averageduration_today", "averageduration_thisweek")
SAMESURF_OVERVIEW = st.one_of(
    maybe(
        {
            "url_latest": TEXT,
            "url_most_popular": TEXT,
            **dict.fromkeys(_OVERVIEW_FIGURES, COUNT),
            **dict.fromkeys((*_OVERVIEW_AVERAGES, "averageduration_thismonth"), st.one_of(COUNT, st.floats())),
        }
    ),
    JUNK,
)
SAMESURF_ROOMS = maybe(
    {
        "total_rooms": COUNT,
        "rooms": rows(maybe({"room": ID, "title": TEXT, "date": TIME, "duration": COUNT, "screenrecordings": COUNT})),
    }
)
MIROTALK_MEETINGS = st.one_of(
    maybe({"meetings": rows(maybe({"roomId": ID, "peers": rows(maybe({"name": TEXT, "screen": JUNK}))}))}), JUNK
)
MIROTALK_STATS = st.one_of(
    maybe({"timestamp": TIME, "totalRooms": COUNT, "totalUsers": COUNT, "totalPeers": COUNT}), JUNK
)
COVIU_SESSION = maybe(
    {"session_id": ID, "session_name": TEXT, "start_time": TIME, "end_time": TIME, "participants": JUNK}
)
COVIU_PAGE = st.one_of(maybe({"content": rows(COVIU_SESSION), "more": st.one_of(st.booleans(), JUNK)}), JUNK)
MIRRORACE_ENTRY = maybe(
    {"name": TEXT, "size": st.one_of(COUNT, st.integers()), "url": LINK, "status": TEXT, "slug": TEXT}
)
MIRRORACE_INFO = st.one_of(
    st.fixed_dictionaries(
        {
            "status": st.just("success"),
            "result": st.one_of(
                st.fixed_dictionaries({}, optional=dict.fromkeys(SLUGS, st.one_of(MIRRORACE_ENTRY, JUNK))), JUNK
            ),
        }
    ),
    JUNK,
)

ANSWERS = st.fixed_dictionaries(
    {
        "mirrortab list": MIRRORTAB_LIST,
        "mirrortab new": MIRRORTAB_NEW,
        "samesurf running": SAMESURF_RUNNING,
        "samesurf overview": SAMESURF_OVERVIEW,
        "samesurf rooms": SAMESURF_ROOMS,
        "mirotalk meetings": MIROTALK_MEETINGS,
        "mirotalk stats": MIROTALK_STATS,
        "coviu sessions": COVIU_PAGE,
        "mirrorace info": MIRRORACE_INFO,
    }
)


def script(bot: Harness, answers: dict[str, Any]) -> None:
    """Every simulator answers what hypothesis wrote, for the routes lists, stats, cards and digests read."""
    bot.mirrortab.answer_with("POST", "/list_sessions", answers["mirrortab list"])
    bot.mirrortab.answer_with("POST", "/new_session", answers["mirrortab new"], status=201)
    bot.samesurf.answer_with("POST", "/api/v3/runningrooms", answers["samesurf running"])
    bot.samesurf.answer_with("POST", "/api/v3/analyticsoverview", answers["samesurf overview"])
    bot.samesurf.answer_with("POST", "/api/v3/analyticsrooms", answers["samesurf rooms"])
    bot.mirotalk.answer_with("GET", "/api/v1/meetings", answers["mirotalk meetings"])
    bot.mirotalk.answer_with("GET", "/api/v1/stats", answers["mirotalk stats"])
    bot.coviu.answer_with("GET", "/sessions", answers["coviu sessions"])
    bot.mirrorace.answer_with("POST", "/api/v1/file/info", answers["mirrorace info"])


@pytest.mark.slow
async def test_every_view_renders_whatever_the_vendors_answer(bot: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="cohost")
    said = Recorder(bot, extra_bases=(A_LINK,))
    for command, channel in CHANNELS.items():
        await said.run("digest daily 09:00 --tz UTC", command=command, channel=channel, responses=1)

    async def example(answers: dict[str, Any]) -> None:
        script(bot, answers)
        # A card, or MirrorTab named with what to do: never the internal error.
        before = sum(said.counts())
        ack = await bot.command("new https://a.example --name Demo", command="/cobrowse")
        assert ack.status == 200
        await bot.slack.wait_for(lambda: sum(said.counts()) > before, what="a card or an answer")
        for command, text in (
            ("/cobrowse", "list"),
            ("/cobrowse", "stats"),
            ("/meeting", "list"),
            ("/meeting", "stats"),
            ("/upload", f"info {' '.join(SLUGS)}"),
        ):
            await said.run(text, command=command, responses=1)
        bot.advance(24 * 60)
        for slug in SLUGS:
            upload = NewUpload(
                "T0SANDBOX", "C0FILES", ANN, "slack", "f.pdf", 1, slug, A_LINK, bot.clock.now() - timedelta(hours=1)
            )
            await bot.runtime.store.add_upload(upload)
        posted = len(bot.slack.posted())
        await send_due_digests(bot.runtime.deps)
        await bot.slack.wait_for(lambda: len(bot.slack.posted()) >= posted + 3, what="three digests")
        for payload in said.payloads():
            text = str(payload.get("text", "")) + str(payload.get("blocks", ""))
            assert INTERNAL_ERROR not in text and DIGEST_CRASH not in text, text[:300]
        said.assert_nothing_live()
        failures = [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]
        assert not failures, failures[:3]

    await explore(bot, ANSWERS, example)


async def test_an_expiry_past_the_year_9999_shows_as_unknown_and_the_rest_of_the_list_still_shows(bot: Harness) -> None:
    in_45_min = int((bot.clock.now() + timedelta(minutes=45)).timestamp() * 1000)
    bot.mirrortab.answer_with(
        "POST",
        "/list_sessions",
        {
            "aaa": {"session_name": "Good", "go_url": A_LINK, "gocode": "cat-1", "kill_time_UTC": in_45_min},
            "bbb": {"session_name": "Far", "go_url": A_LINK, "kill_time_UTC": 99999999999999999999999},
            "ccc": "not a session",
        },
    )
    bot.samesurf.answer_with(
        "POST", "/api/v3/runningrooms", {"rooms": [{"title": "no id"}, {"room": 123456789, "title": "Room"}]}
    )
    await bot.command("list")
    answer = await bot.private()
    assert f"*Good* `aaa` · code `cat-1` · until <!date^{in_45_min // 1000}^" in answer
    assert "*Far* `bbb` · end unknown" in answer and "*Co-browsing session* `ccc` · end unknown" in answer
    assert "*Room* `123456789`" in answer and "1 row SameSurf sent could not be read, so it is not shown" in answer
    await bot.command("stats")
    assert "MirrorTab: 3 live" in await bot.private(2)
