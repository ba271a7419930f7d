"""People's text stays text (DESIGN.md, "Trust and safety"): whatever a person types, or a vendor or a Slack file
carries, never becomes a mention, a broadcast or a disguised link in any `text` or mrkdwn field Slack reads.

Property-based over every command family, the "Mirror to MirrorAce" shortcut and the new-session forms: hypothesis
makes names, URLs and file names out of Slack's control sequences (typed literally, so Slack escapes them, and as
the markup Slack itself sends for a typed @mention or link; typed into a form, as they are), the bot runs the
commands over real HTTP against the simulators, and every message the Slack stand-in recorded is read as Slack
would read it.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Callable, Coroutine, Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers import scheduled
from handlers.core.bounds import unescape
from handlers.digest.sending import send_due_digests
from handlers.scheduled.progress import Progress
from services.store import NewUpload
from tests.conftest import ANN, BOB, CHANNEL, MIROTALK_ALL_ON, Harness

EXAMPLES = 25
# What a person may type that Slack reads as markup; typed as text, Slack sends it escaped (`&lt;!channel&gt;`).
TYPED = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@U0EVIL>",
    "<#C0EVIL>",
    "<!subteam^S0EVIL>",
    "<https://evil.example|your bank>",
    "<mailto:evil@evil.example|mail>",
    "&",
    "&lt;",
    "&amp;",
    "<",
    ">",
    "|",
    "*bold*",
    "`",
]
# What Slack itself sends when a person types @channel, @someone, #channel or a link.
SLACK_MARKUP = [
    "<!channel>",
    "<!here|here>",
    "<@U0EVIL|evil>",
    "<#C0EVIL|evil>",
    "<https://evil.example|evil.example>",
    "<!subteam^S0EVIL|@evil>",
]
_QUOTES = "\"'“”„‘’"
WORDS = st.text(
    alphabet=st.characters(exclude_categories=("Cc", "Cs", "Cf", "Zl", "Zp"), exclude_characters=_QUOTES + "\\"),
    max_size=8,
)


def slack_escaped(text: str) -> str:
    """Text as Slack sends what a person typed (`should_escape: true`)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


PIECE = st.one_of(
    st.sampled_from(TYPED).map(slack_escaped),
    st.sampled_from(SLACK_MARKUP),
    WORDS.map(slack_escaped),
)
#: A name as Slack sends it: starts with a word, so that it never reads as an option.
SENT_NAME = st.lists(PIECE, min_size=1, max_size=6).map(lambda pieces: "Demo " + " ".join(pieces))
#: A piece of a URL's path or a file's name, as it means (not as sent).
PATH_TEXT = st.lists(st.one_of(st.sampled_from(TYPED), WORDS), min_size=1, max_size=4).map("".join)


def web_address(host: str, path_text: str) -> str:
    return f"https://{host}/{quote(path_text, safe='')}.pdf?a=1&b={quote(path_text, safe='')}"


def as_slack_link(url: str) -> str:
    return f"<{slack_escaped(url)}>"


# -- reading what Slack would read ----------------------------------------------------------------------------

_SEQUENCE = re.compile(r"<([^<>]*)>")
_DATE_TOKEN = re.compile(r"!date\^\d+\^\{date_short_pretty\} at \{time\}\|[^<>|]+")
_KNOWN_PEOPLE = {ANN, BOB, "U0ADA", "U0CAROL"}
#: The channels these tests use: Cohost links them (a Home lists every card and digest with its channel; C0SALES is
#: the one picked in the shortcut forms).
_KNOWN_CHANNELS = {CHANNEL, "C0MEETINGS", "C0FILES", "C0SALES"}
_BARE_AMPERSAND = re.compile(r"&(?!amp;|lt;|gt;)")


def mrkdwn_texts(payload: dict[str, Any]) -> Iterator[str]:
    """Every text of a message that Slack reads as mrkdwn: its `text`, and each mrkdwn text object in its blocks."""
    if payload.get("text"):
        yield str(payload["text"])

    def walk(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                yield str(node.get("text", ""))
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    blocks = payload.get("blocks")
    yield from walk(json.loads(blocks) if isinstance(blocks, str) else blocks or [])


def cohost_made(inner: str, bases: tuple[str, ...]) -> bool:
    """Sequences Cohost itself puts in messages: date tokens, mentions of the people it names, links it makes to
    a vendor's pages."""
    if _DATE_TOKEN.fullmatch(inner):
        return True
    if inner.startswith("@"):
        return inner[1:] in _KNOWN_PEOPLE
    if inner.startswith("#"):
        return inner[1:] in _KNOWN_CHANNELS
    target, bar, label = inner.partition("|")
    return bool(bar) and target.startswith(bases) and label in ("join", "open")


def live_sequences(text: str, bases: tuple[str, ...]) -> list[str]:
    """What in `text` Slack would turn into a mention, a broadcast or a link that Cohost did not make, and any
    `&` that is not an entity (text that was not escaped)."""
    found = [match.group(0) for match in _SEQUENCE.finditer(text) if not cohost_made(match.group(1), bases)]
    if _BARE_AMPERSAND.search(text):
        found.append(f"a bare & in {text!r}")
    return found


class Recorder:
    """Everything the bot said so far, read as Slack reads it; the acknowledgements' text too."""

    def __init__(self, bot: Harness, *, extra_bases: tuple[str, ...] = ()) -> None:
        self.bot = bot
        self.acks: list[str] = []
        #: Where the vendors' pages are: the links Cohost makes point there.
        sims = (bot.mirrortab, bot.samesurf, bot.mirotalk, bot.coviu, bot.mirrorace, bot.mirrorace.upload)
        self.bases = tuple(sim.url for sim in sims) + extra_bases

    def payloads(self) -> list[dict[str, Any]]:
        slack = self.bot.slack
        sent = [*slack.api_calls("chat.postMessage"), *slack.api_calls("chat.update"), *slack.ephemerals()]
        # Every card change publishes its creator's Home tab again: the names show there too.
        homes = [call["view"] for call in slack.api_calls("views.publish")]
        return [
            *sent,
            *homes,
            *(response.body for response in slack.responses),
            *({"text": ack} for ack in self.acks),
        ]

    def counts(self) -> tuple[int, int, int]:
        slack = self.bot.slack
        return len(slack.api_calls("chat.postMessage")), len(slack.api_calls("chat.update")), len(slack.responses)

    async def run(
        self, text: str, *, command: str, posts: int = 0, updates: int = 0, responses: int = 0, channel: str = CHANNEL
    ) -> str:
        """Sends a command and waits for what it must say (cards posted, messages edited, private answers)."""
        before = self.counts()
        ack = await self.bot.command(text, command=command, channel=channel)
        assert ack.status == 200, ack
        self.acks.append(ack.text)
        target = (before[0] + posts, before[1] + updates, before[2] + responses)
        await self.bot.slack.wait_for(
            lambda: all(now >= want for now, want in zip(self.counts(), target, strict=True)),
            what=f"what `{command} {text}` says",
        )
        return ack.text

    def assert_nothing_live(self) -> None:
        problems = [
            (found, payload.get("text", ""))
            for payload in self.payloads()
            for text in mrkdwn_texts(payload)
            for found in live_sequences(text, self.bases)
        ]
        assert not problems, problems[:5]

    def last_header(self, method: str) -> str:
        """The header (plain text) of the last message posted or edited by `method`."""
        blocks = self.bot.slack.api_calls(method)[-1]["blocks"]
        return next(str(block["text"]["text"]) for block in blocks if block.get("type") == "header")


async def explore(
    bot: Harness,
    strategy: st.SearchStrategy[Any],
    example: Callable[[Any], Coroutine[Any, Any, None]],
    *,
    examples: int = EXAMPLES,
) -> None:
    """Runs `example` on the bot's loop for each value hypothesis draws (hypothesis itself runs in a thread)."""
    loop = asyncio.get_running_loop()

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(strategy)
    def each(value: Any) -> None:
        asyncio.run_coroutine_threadsafe(example(value), loop).result(60)

    await asyncio.to_thread(each)


# -- the families -----------------------------------------------------------------------------------------------


async def test_mirrortab_cards_lists_warnings_and_closed_cards(bot: Harness) -> None:
    said = Recorder(bot)

    async def example(drawn: tuple[str, str]) -> None:
        sent_name, path = drawn
        name = unescape(sent_name)
        url = web_address("a.example", path)
        await said.run(f'new {as_slack_link(url)} --name "{sent_name}"', command="/cobrowse", posts=1)
        assert said.last_header("chat.postMessage") == name  # plain text: as typed, never escaped
        session_id = bot.slack.api_calls("chat.postMessage")[-1]["blocks"][1]["fields"][1]["text"].split("`")[1]
        await said.run("list --provider mirrortab", command="/cobrowse", responses=1)
        card = await bot.runtime.store.find_card(bot.slack.team_id, "mirrortab", session_id)
        assert card is not None
        await scheduled.warn(bot.runtime.deps, card)  # the warning, as the scheduler sends it before expiry
        await said.run(f"end {session_id}", command="/cobrowse", updates=1, responses=1)
        assert said.last_header("chat.update") == name
        said.assert_nothing_live()

    await explore(bot, st.tuples(SENT_NAME, PATH_TEXT), example)
    said.assert_nothing_live()


async def test_samesurf_rooms_schedules_reminders_stats_and_lists(bot: Harness) -> None:
    said = Recorder(bot)

    async def example(drawn: tuple[str, str]) -> None:
        sent_name, path = drawn
        url = as_slack_link(web_address("docs.example", path))
        await said.run(f'new {url} --provider samesurf --name "{sent_name}"', command="/cobrowse", posts=1, responses=1)
        await said.run(f'schedule in 2h {url} --name "{sent_name}"', command="/cobrowse", posts=1, responses=1)
        room = bot.slack.api_calls("chat.postMessage")[-1]["blocks"][1]["fields"][1]["text"].split("`")[1]
        card = await bot.runtime.store.find_card(bot.slack.team_id, "samesurf", room)
        assert card is not None and card.name == unescape(sent_name)
        await scheduled.remind(bot.runtime.deps, card, Progress())  # the start reminder, as the scheduler sends it
        await said.run("stats", command="/cobrowse", responses=1)  # the latest URL is the one typed
        await said.run("list --provider samesurf", command="/cobrowse", responses=1)
        said.assert_nothing_live()

    await explore(bot, st.tuples(SENT_NAME, PATH_TEXT), example)


@MIROTALK_ALL_ON
@pytest.mark.slow
async def test_mirotalk_cards_personal_links_lists_stats_and_ending(bot: Harness) -> None:
    said = Recorder(bot)

    async def example(drawn: tuple[str, str, str]) -> None:
        sent_name, peer, path = drawn
        room = f"r{uuid.uuid4().hex[:10]}"
        # The card, the creator's presenter link, bob's link by DM, and who got one.
        await said.run(f'new {room} --name "{sent_name}" <@{BOB}|bob>', command="/meeting", posts=2, responses=2)
        bot.mirotalk.add_peer(room, peer)  # a display name as the meeting's server carries it
        await said.run("list", command="/meeting", responses=1)
        await said.run("stats", command="/meeting", responses=1)
        redirect = as_slack_link(web_address("bye.example", path))
        await said.run(f"end {room} --redirect {redirect}", command="/meeting", updates=1, responses=1)
        said.assert_nothing_live()

    await explore(bot, st.tuples(SENT_NAME, PATH_TEXT, PATH_TEXT), example)


async def test_mirotalk_as_shipped_cards_warnings_and_what_is_switched_off(bot: Harness) -> None:
    """A server as shipped (listing, ending and tokens switched off): the card and its warning say the meeting ends
    on its own, the list says listing is off, and End is refused with the command given back."""
    said = Recorder(bot)

    async def example(drawn: tuple[str, str]) -> None:
        sent_name, path = drawn
        room = f"r{uuid.uuid4().hex[:10]}"
        await said.run(f'new {room} --name "{sent_name}" --minutes 30', command="/meeting", posts=1, responses=1)
        card = await bot.runtime.store.find_card(bot.slack.team_id, "mirotalk", room)
        assert card is not None and card.name == unescape(sent_name)
        await scheduled.warn(bot.runtime.deps, card)  # the warning, as the scheduler sends it before expiry
        assert "ends when everyone leaves" in json.dumps(bot.slack.api_calls("chat.postMessage")[-1]["blocks"])
        await said.run("list", command="/meeting", responses=1)
        redirect = as_slack_link(web_address("bye.example", path))
        await said.run(f"end {room} --redirect {redirect}", command="/meeting", responses=1)
        refused = str(bot.slack.responses[-1].body.get("text"))
        assert "switched off" in refused and "Your command, to try again" in refused
        said.assert_nothing_live()

    await explore(bot, st.tuples(SENT_NAME, PATH_TEXT), example)


@pytest.mark.slow
async def test_coviu_cards_schedules_lists_and_updates(bot: Harness) -> None:
    said = Recorder(bot)

    async def example(drawn: tuple[str, str]) -> None:
        sent_name, sent_rename = drawn
        await said.run(f'new --provider coviu --name "{sent_name}"', command="/meeting", posts=1, responses=1)
        await said.run(f'schedule in 2h --name "{sent_name}"', command="/meeting", posts=1, responses=1)
        session_id = bot.slack.api_calls("chat.postMessage")[-1]["blocks"][1]["fields"][1]["text"].split("`")[1]
        await said.run("list", command="/meeting", responses=1)
        await said.run(f'update {session_id} --name "{sent_rename}"', command="/meeting", updates=1, responses=1)
        assert said.last_header("chat.update") == unescape(sent_rename)
        said.assert_nothing_live()

    await explore(bot, st.tuples(SENT_NAME, SENT_NAME), example)


async def test_upload_cards_and_file_info(bot: Harness) -> None:
    said = Recorder(bot)

    async def example(path: str) -> None:
        url = web_address("files.example", path)
        await said.run(as_slack_link(url), command="/upload", posts=1)
        assert said.last_header("chat.postMessage") == f"{path}.pdf"[:150]  # MirrorAce names it after the path
        slug = list(bot.mirrorace.files)[-1]
        await said.run(f"info {slug}", command="/upload", responses=1)
        said.assert_nothing_live()

    await explore(bot, PATH_TEXT, example)


async def test_mirror_to_mirrorace_progress_and_cards_show_file_names_as_text(bot: Harness) -> None:
    said = Recorder(bot)
    file_name = st.lists(
        st.one_of(st.sampled_from(TYPED), st.text(alphabet="abc -_.<>&|!@#:", max_size=6)), min_size=1, max_size=4
    ).map(lambda parts: "".join(parts).replace("/", "-").replace("#", "-") or "f")

    async def example(name: str) -> None:
        file_id = f"F{uuid.uuid4().hex[:10].upper()}"
        shared = bot.slack.add_file(file_id, name, 2048)
        message = {"type": "message", "ts": f"17000{uuid.uuid4().int % 10**6:06d}.000100", "files": [shared]}
        before = said.counts()
        ack = await bot.send(bot.slack.message_shortcut("mirror_file", message=message))
        assert ack.status == 200
        # The progress message in the thread, then the card (or why it failed) in its place.
        await bot.slack.wait_for(lambda: said.counts()[0] > before[0] and said.counts()[1] > before[1], what="a card")
        said.assert_nothing_live()

    await explore(bot, file_name, example)


@MIROTALK_ALL_ON  # the meetings listed, with the names of the people in them
@pytest.mark.slow
async def test_digests_show_what_people_named_as_text(bot: Harness) -> None:
    said = Recorder(bot)
    # A channel per family: Slack's pace (a message a second per channel) then holds no digest back.
    channels = {"/cobrowse": CHANNEL, "/meeting": "C0MEETINGS", "/upload": "C0FILES"}
    for command, channel in channels.items():
        await said.run("digest daily 09:00 --tz UTC", command=command, channel=channel, responses=1)

    async def example(drawn: tuple[str, str]) -> None:
        sent_name, path = drawn
        name = unescape(sent_name)
        now = bot.clock.now()
        bot.mirrortab.add_session(name)
        bot.samesurf.seed_analytics_room("4001", name, (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"), 60)
        bot.mirotalk.add_peer(f"r{uuid.uuid4().hex[:8]}", name)
        await said.run(f'schedule in 3h --name "{sent_name}"', command="/meeting", posts=1, responses=1)
        upload = NewUpload("T0SANDBOX", "C0FILES", ANN, "slack", f"{path}.pdf", 10, "s1", "https://m.example/s1", now)
        await bot.runtime.store.add_upload(upload)
        bot.advance(24 * 60)
        before = said.counts()
        await send_due_digests(bot.runtime.deps)
        await bot.slack.wait_for(lambda: said.counts()[0] >= before[0] + 3, what="three digests")
        said.assert_nothing_live()

    await explore(bot, st.tuples(SENT_NAME, PATH_TEXT), example, examples=15)


async def test_errors_echo_the_typed_command_as_text(bot: Harness) -> None:
    said = Recorder(bot)

    async def example(sent: str) -> None:
        # Refused by the grammar: answered in the acknowledgement, with the command given back.
        answer = await said.run(f'new https://a.example --minutes "{sent}"', command="/cobrowse")
        assert "Your command, to try again" in answer
        # Refused by the vendor after the acknowledgement: MirrorTab's and SameSurf's own words, and the command.
        await said.run(f'end "{sent}"', command="/cobrowse", responses=1)
        await said.run(f'revoke "{sent}"', command="/cobrowse", responses=1)
        await said.run(f'report "{sent}"', command="/cobrowse", responses=1)
        said.assert_nothing_live()

    await explore(bot, SENT_NAME, example)


async def test_names_typed_into_the_new_session_forms_stay_text(bot: Harness) -> None:
    """The forms of the global shortcuts: a name typed into a form comes as it was typed (Slack escapes nothing in
    a form's input), and shows as text on the card in the picked channel, in the private links, and in the direct
    message that gives it back when the channel is one Cohost cannot post in (here the one a card may name)."""
    said = Recorder(bot)
    bot.slack.not_in_channel.add(CHANNEL)
    typed_name = st.lists(st.one_of(st.sampled_from(TYPED), WORDS), min_size=1, max_size=4).map(
        lambda pieces: "Demo " + " ".join(pieces)
    )
    forms = {
        "new_cobrowse": {"provider": "mirrortab", "urls": "https://a.example"},
        "new_meeting": {"provider": "coviu"},  # its host gets a link of their own, privately
    }

    async def submit(callback_id: str, answers: dict[str, Any], done: Callable[[], bool]) -> None:
        opened = len(bot.slack.views)
        assert (await bot.send(bot.slack.global_shortcut(callback_id))).status == 200
        await bot.slack.wait_for(lambda: len(bot.slack.views) > opened, what="the form")
        ack = await bot.send(bot.slack.submitted(list(bot.slack.views)[-1], answers))
        assert (ack.status, ack.text) == (200, "")
        await bot.slack.wait_for(done, what=f"what the {callback_id} form says")

    async def one_form(callback_id: str, answers: dict[str, Any], name: str) -> None:
        updates, private = said.counts()[1], len(bot.slack.ephemerals())
        links = 1 if callback_id == "new_meeting" else 0
        await submit(
            callback_id,
            {**answers, "channel": "C0SALES", "name": name},
            lambda: said.counts()[1] > updates and len(bot.slack.ephemerals()) >= private + links,
        )
        assert said.last_header("chat.update") == name  # the held place became the card: plain text, as typed
        given_back = said.counts()[0]
        await submit(callback_id, {**answers, "channel": CHANNEL, "name": name}, lambda: said.counts()[0] > given_back)

    async def example(name: str) -> None:
        for callback_id, answers in forms.items():
            await one_form(callback_id, answers, name)
        said.assert_nothing_live()

    await explore(bot, typed_name, example, examples=10)
