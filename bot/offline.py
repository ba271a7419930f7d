"""The offline mode: the real bot wired to the sandbox (Slack and every vendor), driven from a prompt.

A line starting with `/` is a slash command, sent as Slack would send it (signed, over HTTP). What Slack would
show is printed as text: cards, private answers, forms. Buttons are numbered: type the number to click one.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import aiohttp
from aiohttp import web

from bot.app import build_runtime, web_runner
from bot.console import Clickable, form_fields, render_blocks, render_message
from bot.settings import Settings
from sandbox.coviu import CoviuSim
from sandbox.mirotalk import SWITCHABLE, MiroTalkSim
from sandbox.mirrorace import MirrorAceSim
from sandbox.mirrortab import MirrorTabSim
from sandbox.samesurf import SameSurfSim
from sandbox.slack import SignedRequest, SlackStandIn, form_state
from sandbox.world import Sims, sqlite_url

PROMPT = "cohost> "
HELP = """Type a slash command as in Slack, e.g.
  /cobrowse new https://example.com --name Demo
  /cobrowse new --provider samesurf https://example.com
  /cobrowse list        /cobrowse help
  /meeting new standup --minutes 30      /meeting new --provider coviu @bob
  /upload https://example.com/report.pdf --mirrors 1,2      /upload info SLUG
A number clicks that button. `as USER` acts as another person (ann, bob, ada: ada is an admin).
`home` opens your App Home tab (your live and upcoming sessions, the digests, and for admins the vendors).
`quit` (or Ctrl-D) leaves."""
PEOPLE = {"ann": "U0ANN", "bob": "U0BOB", "ada": "U0ADA"}
CHANNEL = "C0GENERAL"
#: The host user the MiroTalk simulator is configured with, and Cohost with it, so presenter links work offline.
MIROTALK_HOST = ("cohost", "offline-host-password")
BANNER = f"""Cohost offline: the bot on the sandbox (Slack and every vendor's simulator). Type `help`.
MiroTalk's simulator runs as its admin would set it up for Cohost, not as a server ships: {", ".join(SWITCHABLE)}
switched on (API_ALLOW_MEETINGS, API_ALLOW_MEETING_END, API_ALLOW_TOKEN), and a host user `{MIROTALK_HOST[0]}`
(MIROTALK_HOST_USERNAME / MIROTALK_HOST_PASSWORD) for presenter links."""


class Console:
    """One person at the prompt, talking to the bot through the Slack stand-in."""

    def __init__(self, slack: SlackStandIn, events_url: str, http: aiohttp.ClientSession, out: TextIO) -> None:
        self.slack = slack
        self.events_url = events_url
        self.http = http
        self.out = out
        self.user = PEOPLE["ann"]
        self.clickables: list[Clickable] = []
        self._seen_calls = 0
        self._seen_responses = 0

    def name_of(self, user_id: str) -> str:
        return next((name for name, uid in PEOPLE.items() if uid == user_id), user_id)

    async def handle(self, line: str, ask: Callable[[str], Any]) -> bool:
        """Acts on one line; False when the person wants to leave."""
        line = line.strip()
        if not line:
            return True
        if line in ("quit", "exit"):
            return False
        if line == "help":
            print(HELP, file=self.out)
        elif line.startswith("as "):
            who = line[3:].strip().lower()
            if who in PEOPLE:
                self.user = PEOPLE[who]
                print(f"(now acting as {who})", file=self.out)
            else:
                print(f"(unknown person: one of {', '.join(PEOPLE)})", file=self.out)
        elif line == "home":
            await self.open_home()
        elif line.isdigit():
            await self.click(int(line), ask)
        elif line.startswith("/"):
            command, _, text = line.partition(" ")
            await self.send(
                self.slack.slash_command(
                    command, text, user_id=self.user, user_name=self.name_of(self.user), channel_id=CHANNEL
                ),
                ask,
            )
        else:
            print("(not a slash command: type `help`)", file=self.out)
        return True

    async def click(self, number: int, ask: Callable[[str], Any]) -> None:
        if not 1 <= number <= len(self.clickables):
            print(f"(no button {number})", file=self.out)
            return
        button = self.clickables[number - 1]
        if button.on_home:
            await self.send(self.slack.home_action(button.action_id, value=button.value, user_id=self.user), ask)
            return
        await self.send(
            self.slack.block_action(
                button.action_id,
                value=button.value,
                user_id=self.user,
                channel_id=button.channel,
                message_ts=button.message_ts,
            ),
            ask,
        )

    async def open_home(self) -> None:
        """Opens the person's Home tab as Slack does (`app_home_opened`) and prints the Home Cohost published."""
        published = self.slack.publishes_for(self.user)
        event = {"type": "app_home_opened", "user": self.user, "tab": "home", "channel": "D" + self.user}
        status, _, _ = await self.slack.send(
            self.http, self.events_url, self.slack.event_callback(self.slack.team_id, event)
        )
        try:
            await self.slack.wait_for(lambda: self.slack.publishes_for(self.user) > published, 20.0, "the Home")
        except AssertionError:
            print(f"(no Home came: HTTP {status})", file=self.out)
            return
        await self.settle()
        home = self.slack.home_of(self.user) or {}
        text = render_blocks(home.get("blocks") or [], clickables=self.clickables, name_of=self.name_of, on_home=True)
        print(f"\n[your Home]\n{text}\n", file=self.out)

    async def send(self, request: SignedRequest, ask: Callable[[str], Any]) -> None:
        status, text, _ = await self.slack.send(self.http, self.events_url, request)
        if status != 200:
            print(f"(Slack would show an error: HTTP {status})", file=self.out)
        elif text.strip():
            self.show({"text": text} if not text.startswith("{") else _json(text), "only you")
        await self.settle()
        await self.show_new(ask)

    async def settle(self, quiet_s: float = 0.4, limit_s: float = 20.0) -> None:
        """Waits until the bot has been quiet for a moment (its work runs after the ack)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit_s
        last = (-1, -1)
        while loop.time() < deadline:
            now = (len(self.slack.calls), len(self.slack.responses))
            if now == last:
                return
            last = now
            await asyncio.sleep(quiet_s)

    async def show_new(self, ask: Callable[[str], Any]) -> None:
        calls = self.slack.calls[self._seen_calls :]
        self._seen_calls = len(self.slack.calls)
        for call in calls:
            method = call.path.rsplit("/", 1)[-1]
            payload = self.slack.payload(call)
            if method in ("chat.postMessage", "chat.update"):
                channel = str(payload.get("channel"))
                ts = str(payload.get("ts") or self.slack.ts_of(call) or "")
                where = "direct message" if channel.startswith("D") else f"#{channel}"
                self.show(payload, f"{where}{', edited' if method == 'chat.update' else ''}", channel, ts)
            elif method == "chat.postEphemeral":
                self.show(payload, "only you")
            elif method == "views.open":
                await self.fill_form(payload["view"], ask)
        responses = self.slack.responses[self._seen_responses :]
        self._seen_responses = len(self.slack.responses)
        for response in responses:
            self.show(response.body, "only you")

    def show(self, payload: dict[str, Any], where: str, channel: str = "", ts: str = "") -> None:
        text = render_message(payload, clickables=self.clickables, channel=channel, ts=ts, name_of=self.name_of)
        print(f"\n[{where}]\n{text}\n", file=self.out)

    async def fill_form(self, view: dict[str, Any], ask: Callable[[str], Any]) -> None:
        print(f"\n[form: {view.get('title', {}).get('text', '')}] (Enter leaves a field empty)", file=self.out)
        answers: dict[str, Any] = {}
        for block_id, label, element in form_fields(view):
            options = [o["value"] for o in element.get("options") or []]
            kind = element.get("type")
            hint = f" ({'/'.join(options)})" if options else " (names)" if kind == "multi_users_select" else ""
            answer = str(await ask(f"  {label}{hint}: ")).strip()
            if not answer:
                continue
            if element.get("multiline"):
                answer = answer.replace(" ", "\n")  # several URLs on one line, as several lines
            if kind == "multi_users_select":
                answers[block_id] = [self.user_id_of(name) for name in answer.replace(",", " ").split()]
            else:
                answers[block_id] = answer.lstrip("#") if kind == "conversations_select" else answer
        try:
            values = form_state(view, answers)
        except ValueError as exc:
            print(f"(Slack would not submit this form: {exc})", file=self.out)
            return
        request = self.slack.view_submission(
            str(view.get("callback_id")),
            values,
            private_metadata=str(view.get("private_metadata", "")),
            user_id=self.user,
        )
        _, text, _ = await self.slack.send(self.http, self.events_url, request)
        if text.strip().startswith("{") and "errors" in text:
            print(f"(the form refused: {_json(text).get('errors')})", file=self.out)
        await self.settle()
        await self.show_new(ask)

    def user_id_of(self, name: str) -> str:
        """A person of the sandbox by name (`bob`, `@bob`), or the id as typed."""
        return PEOPLE.get(name.lstrip("@"), name)


def _json(text: str) -> dict[str, Any]:
    import json

    value = json.loads(text)
    return value if isinstance(value, dict) else {"text": text}


async def _offline(settings: Settings) -> int:
    username, password = MIROTALK_HOST
    sims = Sims(
        SlackStandIn(),
        MirrorTabSim(),
        SameSurfSim(),
        MiroTalkSim(switched_on=SWITCHABLE, host_users={username: password}),
        CoviuSim(),
        MirrorAceSim(),
    )
    await sims.start()
    workdir = Path(tempfile.mkdtemp(prefix="cohost-offline-"))
    wired = settings.model_copy(
        update={
            **sims.variables(),
            **sims.mirotalk.host_variables(username),
            "DATABASE_URL": sqlite_url(workdir / "cohost.db"),
            "COHOST_ADMINS": PEOPLE["ada"],
        }
    )
    runtime = build_runtime(wired)
    runner = web_runner(runtime)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    events_url = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"

    async def ask(prompt: str) -> str:
        line = await asyncio.to_thread(_read_line, prompt)
        if line is None:
            raise EOFError
        return line

    print(BANNER)
    try:
        async with aiohttp.ClientSession() as http:
            console = Console(sims.slack, events_url, http, sys.stdout)
            while True:
                try:
                    line = await ask(PROMPT)
                except EOFError:
                    break
                if not await console.handle(line, ask):
                    break
    finally:
        await runner.cleanup()
        await sims.stop()
        shutil.rmtree(workdir, ignore_errors=True)  # the session's throwaway database
    return 0


def _read_line(prompt: str) -> str | None:
    try:
        return input(prompt)
    except EOFError:
        return None


def run_offline(settings: Settings) -> int:
    return asyncio.run(_offline(settings))
