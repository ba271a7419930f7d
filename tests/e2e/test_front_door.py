"""Signature first (DESIGN.md, "Trust and safety"): what reaches `POST /slack/events` over real HTTP, signed or not,
well formed or not, whole or cut short, gets 401 / 400 / 413 or a closed connection and one short log line, never
a 500 or a traceback; and nothing of an unsigned request happens."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from urllib.parse import urlencode, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.front_door import MAX_BODY_BYTES
from sandbox.slack import SignedRequest
from tests.conftest import Harness, calls_after_start

FRONT_DOOR = "cohost.front_door"


def problems(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Records a person reading the log would call a failure: errors, and anything carrying a traceback."""
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info or r.stack_info]


def refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == FRONT_DOOR]


@pytest.fixture
def caplog(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO)
    return caplog


async def until(predicate: Callable[[], bool], what: str, within_s: float = 5.0) -> None:
    """Waits for something the stand-ins do not signal (a log line), looking every 10 ms."""
    deadline = asyncio.get_running_loop().time() + within_s
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {within_s} s waiting for {what}")
        await asyncio.sleep(0.01)


async def post(bot: Harness, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    async with bot.http.post(bot.events_url, data=body, headers=headers) as resp:
        return resp.status, await resp.text()


class RawConnection:
    """One HTTP/1.1 connection written byte by byte, for what aiohttp's client would not send (a body cut short,
    one declared bigger than what follows)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, url: str) -> RawConnection:
        parts = urlsplit(url)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        return cls(reader, writer)

    async def send_head(self, headers: dict[str, str], path: str = "/slack/events") -> None:
        lines = [f"POST {path} HTTP/1.1", "Host: cohost.test", *(f"{k}: {v}" for k, v in headers.items())]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await self.writer.drain()

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def status(self, within_s: float = 5.0) -> int:
        line = await asyncio.wait_for(self.reader.readline(), within_s)
        return int(line.split()[1])

    def close(self) -> None:
        self.writer.close()


A_COMMAND = urlencode({"command": "/cobrowse", "text": "new https://a.example", "team_id": "T0SANDBOX"}).encode()


def forged(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "X-Slack-Signature": "v0=" + "0" * 64}


def unsigned(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if not k.startswith("X-Slack-")}


@pytest.mark.parametrize(
    "body",
    [A_COMMAND, b"payload=%7B", b"\xff\xfe\xfd", b"payload=%5B1%2C2%5D", b"[1, 2]", b""],
    ids=["a command", "payload=%7B", "not UTF-8", "payload a JSON array", "JSON array", "empty"],
)
@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (unsigned, "not signed"),
        (forged, "signature does not match"),
        (lambda h: {**h, "X-Slack-Request-Timestamp": "not-a-number"}, "malformed timestamp"),
        (lambda h: {**h, "X-Slack-Request-Timestamp": "1e9"}, "malformed timestamp"),
        (lambda h: {**h, "X-Slack-Request-Timestamp": "-17"}, "malformed timestamp"),
        (lambda h: {**h, "X-Slack-Request-Timestamp": "9" * 5000}, "malformed timestamp"),
        (lambda h: {**h, "X-Slack-Signature": "v0=é"}, "malformed signature"),
    ],
    ids=[
        "missing",
        "forged",
        "word timestamp",
        "float timestamp",
        "negative timestamp",
        "huge timestamp",
        "non-ASCII signature",
    ],
)
async def test_requests_not_signed_by_slack_get_401_before_their_body_is_read(
    bot: Harness, caplog: pytest.LogCaptureFixture, body: bytes, tamper: object, reason: str
) -> None:
    headers = tamper(bot.slack.sign(body))  # type: ignore[operator]
    status, text = await post(bot, body, headers)
    assert status == 401
    assert json.loads(text) == {"ok": False, "error": reason}
    assert refusals(caplog) == [f"refused /slack/events from 127.0.0.1: 401 ({reason})"]
    assert not problems(caplog)
    assert not bot.mirrortab.sessions
    assert not calls_after_start(bot.slack)  # no Web API call and no response_url post: nothing happened


@pytest.mark.parametrize("minutes", [-6, 6])
async def test_a_signature_more_than_five_minutes_off_is_stale(
    bot: Harness, caplog: pytest.LogCaptureFixture, minutes: int
) -> None:
    request = bot.slack.slash_command("/cobrowse", "new https://a.example", timestamp=int(time.time()) + minutes * 60)
    ack = await bot.send(request)
    assert ack.status == 401
    assert refusals(caplog) == ["refused /slack/events from 127.0.0.1: 401 (stale timestamp)"]
    assert not bot.mirrortab.sessions


async def test_a_signature_four_minutes_old_still_counts(bot: Harness) -> None:
    request = bot.slack.slash_command("/cobrowse", "new https://a.example", timestamp=int(time.time()) - 4 * 60)
    assert (await bot.send(request)).status == 200
    await bot.card()


def deeply_nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"\xff\xfe\xfd", None, "body is not UTF-8"),
        (b"command=%2Fcobrowse&text=%FF", None, "form not understood"),
        (b"payload=%7B", None, "payload is not JSON"),
        (b"payload=%5B1%2C2%5D", None, "payload is not a JSON object"),
        (urlencode({"payload": '"a string"'}).encode(), None, "payload is not a JSON object"),
        (urlencode({"payload": deeply_nested(100_000)}).encode(), None, "payload is not JSON"),
        (b"[1, 2]", "application/json", "body is not a JSON object"),
        (b"{", "application/json", "body is not JSON"),
        (
            b'{"type": "block_actions", "team": {"id": "T0SANDBOX"}, "actions": "x"}',
            "application/json",
            "body not understood (TypeError)",
        ),
        (
            # From the workspace (one from no workspace is ignored before any listener reads it).
            urlencode(
                {"payload": json.dumps({"type": "view_submission", "team": {"id": "T0SANDBOX"}, "view": 5})}
            ).encode(),
            None,
            "body not understood (TypeError)",
        ),
    ],
    ids=[
        "not UTF-8",
        "percent-encoded not UTF-8",
        "payload=%7B",
        "payload a JSON array",
        "payload a JSON string",
        "payload nested 100,000 deep",
        "JSON array",
        "JSON cut short",
        "actions a string",
        "view a number",
    ],
)
async def test_signed_but_malformed_bodies_get_400(
    bot: Harness, caplog: pytest.LogCaptureFixture, body: bytes, content_type: str | None, reason: str
) -> None:
    headers = bot.slack.sign(body)
    if content_type:
        headers["Content-Type"] = content_type
    status, text = await post(bot, body, headers)
    assert (status, json.loads(text)) == (400, {"ok": False, "error": reason})
    (line,) = refusals(caplog)
    assert line.endswith(f"400 ({reason})")
    assert not problems(caplog)


# JSON as a forger holding the secret might send it: Slack's field names, values of every type, nested.
SLACK_KEYS = st.sampled_from(
    ["type", "team", "user", "channel", "enterprise", "event", "view", "container", "message", "actions",
     "authorizations", "response_url", "response_urls", "callback_id", "trigger_id", "is_enterprise_install",
     "function_data", "bot_access_token", "command", "id", "action_id", "block_id", "value", "state", "values",
     "private_metadata", "user_id", "team_id", "channel_id", "thread_ts", "ts", "files"]
)  # fmt: skip
SLACK_TYPES = st.sampled_from(
    ["block_actions", "view_submission", "view_closed", "message_action", "shortcut", "event_callback",
     "url_verification", "block_suggestion", "interactive_message", "dialog_submission", "workflow_step_edit"]
)  # fmt: skip
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10) | SLACK_TYPES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(SLACK_KEYS, inner, max_size=4),
    max_leaves=12,
)
ODD_PAYLOADS = st.fixed_dictionaries({"type": SLACK_TYPES | JSON_VALUES}, optional={}).flatmap(
    lambda head: st.dictionaries(SLACK_KEYS, JSON_VALUES, max_size=6).map(lambda rest: {**rest, **head})
)


@pytest.mark.slow
async def test_no_signed_json_object_makes_the_bot_answer_500_or_log_a_traceback(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    loop = asyncio.get_running_loop()
    statuses: set[int] = set()

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(ODD_PAYLOADS, st.booleans())
    def send(payload: dict[str, object], as_form: bool) -> None:
        if as_form:
            body = urlencode({"payload": json.dumps(payload)}).encode()
            headers = bot.slack.sign(body)
        else:
            body = json.dumps(payload).encode()
            headers = {**bot.slack.sign(body), "Content-Type": "application/json"}
        status, _ = asyncio.run_coroutine_threadsafe(post(bot, body, headers), loop).result(30)
        statuses.add(status)

    await asyncio.to_thread(send)
    assert 500 not in statuses, statuses
    assert not problems(caplog)


async def test_a_command_mentioning_payload_is_not_dropped(bot: Harness) -> None:
    # Bolt reads any form containing the letters "payload" as an interaction and, finding no `payload` field, as
    # empty: the command would get a 404 and its author nothing.
    ack = await bot.command("new https://a.example/payload --name payload")
    assert ack.status == 200
    card = await bot.card()
    assert "payload" in card["text"]


async def test_a_body_declared_over_a_megabyte_gets_413_without_being_sent(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    connection = await RawConnection.open(bot.url)
    headers = bot.slack.sign(b"")
    await connection.send_head({**headers, "Content-Length": str(MAX_BODY_BYTES + 1)})
    assert await connection.status() == 413  # answered before a byte of the body was sent
    connection.close()
    assert refusals(caplog) == [
        f"refused /slack/events from 127.0.0.1: 413 (body of {MAX_BODY_BYTES + 1} bytes declared)"
    ]
    assert not problems(caplog)


async def test_a_chunked_body_is_not_read_past_a_megabyte(bot: Harness, caplog: pytest.LogCaptureFixture) -> None:
    connection = await RawConnection.open(bot.url)
    await connection.send_head({**bot.slack.sign(b"x"), "Transfer-Encoding": "chunked"})
    piece = b"a" * 65536
    sent = 0
    while sent <= MAX_BODY_BYTES:
        await connection.send(b"%x\r\n%s\r\n" % (len(piece), piece))
        sent += len(piece)
    # The body goes on (no last chunk): the answer comes at the limit, not at the end.
    assert await connection.status() == 413
    connection.close()
    assert refusals(caplog) == ["refused /slack/events from 127.0.0.1: 413 (body over the limit)"]
    assert not problems(caplog)


async def test_a_signed_command_of_exactly_a_megabyte_is_served(bot: Harness) -> None:
    command = bot.slack.slash_command("/cobrowse", "new https://a.example")
    padded = command.body + b"&padding=" + b"p" * (MAX_BODY_BYTES - len(command.body) - len(b"&padding="))
    assert len(padded) == MAX_BODY_BYTES
    ack = await bot.send(SignedRequest(padded, bot.slack.sign(padded), command.response_url, command.trigger_id))
    assert ack.status == 200
    await bot.card()


async def test_a_client_leaving_mid_body_leaves_one_line_and_no_traceback(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    body = bot.slack.slash_command("/cobrowse", "new https://a.example").body
    connection = await RawConnection.open(bot.url)
    headers = {**bot.slack.sign(body), "Content-Length": str(len(body)), "Expect": "100-continue"}
    await connection.send_head(headers)
    assert await connection.status() == 100  # the bot is reading the body now
    await connection.send(body[: len(body) // 2])
    connection.close()
    await until(lambda: bool(refusals(caplog)), "the refusal's log line")
    assert refusals(caplog) == [
        "refused /slack/events from 127.0.0.1: connection closed (client left before sending the whole body)"
    ]
    assert not problems(caplog)
    assert not bot.mirrortab.sessions
    async with bot.http.get(bot.url + "/healthz") as resp:
        assert resp.status == 200


async def test_lines_about_refused_requests_are_rate_limited(bot: Harness, caplog: pytest.LogCaptureFixture) -> None:
    body = bot.slack.slash_command("/cobrowse", "new https://a.example").body
    flood = [post(bot, body, forged(bot.slack.sign(body))) for _ in range(300)]
    assert {status for status, _ in await asyncio.gather(*flood)} == {401}
    assert len(refusals(caplog)) == 10  # a burst of ten lines, then silence for the rest of the flood
    bot.advance(minutes=1)
    assert (await post(bot, body, forged(bot.slack.sign(body))))[0] == 401
    lines = refusals(caplog)
    assert lines[10:] == [
        "290 more refused requests in 60 s, not logged one by one",
        "refused /slack/events from 127.0.0.1: 401 (signature does not match)",
    ]
    assert not problems(caplog)


MALFORMED_HTTP = [
    b"POST /slack/events HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
    b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    b"POST /slack/events HTTP/1.1\r\nHost: x\r\nX-Slack-Signature: " + b"v" * 9000 + b"\r\n\r\n",
    b"POST /slack/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
]


async def test_requests_too_malformed_for_http_leave_short_rate_limited_lines(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    # aiohttp itself answers these 400 before any route; it used to log each as an error with a traceback.
    for raw in MALFORMED_HTTP * 5:
        connection = await RawConnection.open(bot.url)
        await connection.send(raw)
        assert await connection.status() == 400
        connection.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "cohost.server"]
    assert len(lines) == 10  # then silence: the rest is counted
    assert all(line.startswith("refused a malformed request from 127.0.0.1: 400 (") for line in lines), lines
    assert not problems(caplog)
