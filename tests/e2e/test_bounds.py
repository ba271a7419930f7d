"""Bounded input, checked before any vendor call (DESIGN.md, "Trust and safety"): names, URLs and minutes out of
bounds, and URLs naming this machine or a private network, are refused privately with the reason and the command
given back, and the vendor's simulator hears nothing of them, over real HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sandbox.server import SimServer
from services import markers
from tests.conftest import CAROL, Harness

LONG_NAME = "N" * 151
PRIVATE_URLS = [
    ("http://127.0.0.1/admin", "a loopback address (127.0.0.1)"),
    ("http://169.254.169.254/latest/meta-data/", "a link-local address (169.254.169.254)"),
    ("http://[::1]:8080/", "a loopback address (::1)"),
    ("http://[::ffff:10.0.0.7]/", "a private address (10.0.0.7)"),
    ("http://2130706433/", "a loopback address (127.0.0.1)"),
    ("http://0x7f.1/", "a loopback address (127.0.0.1)"),
    ("http://0.0.0.0:3000/", "an unspecified address (0.0.0.0)"),
    ("http://localhost:3000/", "this machine (localhost)"),
    ("https://intranet.localhost/", "this machine (intranet.localhost)"),
    ("http://192.168.1.10/", "a private address (192.168.1.10)"),
    ("http://user@172.16.0.1/", "a private address (172.16.0.1)"),
]


def slack_link(url: str) -> str:
    """A URL as Slack sends a typed one: wrapped, with its `&` escaped."""
    return "<" + url.replace("&", "&amp;") + ">"


@pytest.fixture(autouse=True)
def only_calls_after_start(bot: Harness) -> None:
    """What the bot asked a vendor while starting (MiroTalk's switches, learned by harmless probes before the
    first request) is no call of a command's: the checks below see only what commands call."""
    for sim in (bot.mirrortab, bot.samesurf, bot.mirotalk, bot.coviu, bot.mirrorace, bot.mirrorace.upload):
        sim.calls.clear()


def vendor_of(bot: Harness, command: str, text: str) -> list[SimServer]:
    """The simulators the command would have called."""
    if command == "/upload":
        return [bot.mirrorace, bot.mirrorace.upload]
    if command == "/meeting":
        return [bot.mirotalk, bot.coviu]
    return [bot.mirrortab, bot.samesurf]


async def refused(bot: Harness, command: str, text: str, *, user: str = "U0ANN") -> str:
    """Sends the command; returns the refusal (the acknowledgement's text), checking nothing reached a vendor."""
    ack = await bot.command(text, command=command, user=user)
    assert ack.status == 200
    for sim in vendor_of(bot, command, text):
        assert not sim.calls, f"{sim.name} was called: {[c.path for c in sim.calls]}"
    assert not bot.slack.posted() and not bot.slack.responses  # nothing went on after the acknowledgement
    assert "Your command, to try again" in ack.text  # nothing typed is lost
    return ack.text


@pytest.mark.parametrize(
    ("command", "text", "reason"),
    [
        ("/cobrowse", "new --minutes 99999999999999999999999 https://a.example", "--minutes must be at most 10080"),
        ("/cobrowse", "new --minutes 10081 https://a.example", "--minutes must be at most 10080"),
        ("/cobrowse", "schedule in 2h https://a.example --minutes 20000", "--minutes must be at most 10080"),
        ("/meeting", "new --minutes 10081", "--minutes must be at most 10080"),
        ("/meeting", "new --provider coviu --minutes 99999", "--minutes must be at most 10080"),
        ("/meeting", "schedule tomorrow 09:30 --minutes 10081", "--minutes must be at most 10080"),
        ("/meeting", "update 5f3a --minutes 10081", "--minutes must be at most 10080"),
        ("/cobrowse", f"new https://a.example --name {LONG_NAME}", "--name is 151 characters long"),
        ("/cobrowse", f"new https://a.example --provider samesurf --name {LONG_NAME}", "--name is 151 characters"),
        ("/cobrowse", "new https://a.example --name 'ACME\u0000demo'", "control character (U+0000)"),
        (
            "/cobrowse",
            "new https://a.example --name 'ACME\u202edemo'",
            "--name has a direction-changing character (U+202E)",
        ),
        ("/cobrowse", "new https://a.example --name 'two\nlines'", "--name has a control character (U+000A)"),
        ("/cobrowse", f"schedule in 2h --name {LONG_NAME}", "--name is 151 characters long"),
        ("/cobrowse", f"invite 123456789 --as {LONG_NAME}", "--as is 151 characters long"),
        ("/meeting", f"new --name {LONG_NAME}", "--name is 151 characters long"),
        ("/meeting", f"new --provider coviu --name {LONG_NAME}", "--name is 151 characters long"),
        ("/meeting", f"schedule in 2h --name {LONG_NAME}", "--name is 151 characters long"),
        ("/meeting", f"update 5f3a --name {LONG_NAME}", "--name is 151 characters long"),
        ("/meeting", f"join standup --name {LONG_NAME}", "--name is 151 characters long"),
        ("/cobrowse", "new ftp://a.example/file", "is not a web address"),
        (
            "/cobrowse",
            "new " + slack_link("https://a.example/" + "x" * 2000),
            "characters long: give a URL of at most 2,000",
        ),
        ("/cobrowse", "new https://1.2.3.256/", "does not name a valid host"),
        ("/cobrowse", "new 'http://127.0.0.1\\@a.example/'", "has a space, a backslash or a control character"),
        ("/upload", "javascript:alert(1)", "is not a web address"),
    ],
)
async def test_out_of_bounds_input_reaches_no_vendor(bot: Harness, command: str, text: str, reason: str) -> None:
    assert reason in await refused(bot, command, text)


@pytest.mark.parametrize(("url", "reason"), PRIVATE_URLS)
@pytest.mark.parametrize(
    ("command", "template", "field"),
    [
        ("/cobrowse", "new {url} --name Demo", "URL"),
        ("/cobrowse", "new {url} --provider samesurf", "URL"),
        ("/cobrowse", "schedule in 2h {url}", "URL"),
        ("/upload", "{url} --mirrors 1", "URL"),
        ("/meeting", "end standup --redirect {url}", "--redirect"),
    ],
)
async def test_private_addresses_go_to_no_vendor(
    bot: Harness, command: str, template: str, field: str, url: str, reason: str
) -> None:
    answer = await refused(bot, command, template.format(url=slack_link(url)))
    assert f"{field} `{url}` names {reason}" in answer
    assert "Give a public http(s) URL" in answer and "COHOST_ALLOW_PRIVATE_URLS" in answer


async def test_reseller_names_are_bounded_for_admins_too(bot: Harness) -> None:
    answer = await refused(bot, "/cobrowse", f"reseller create {LONG_NAME} --licenses 5", user=CAROL)
    assert "NAME is 151 characters long" in answer


async def test_a_name_of_150_characters_and_a_week_long_session_are_fine(bot: Harness) -> None:
    name = "N" * 150
    ack = await bot.command(f"new https://a.example --name {name} --minutes 10080")
    assert ack.status == 200
    card = await bot.card()
    assert card["blocks"][0]["text"]["text"] == name
    (session,) = bot.mirrortab.sessions.values()
    assert markers.split(session["session_name"])[0] == name  # Cohost's marker (services/markers.py) aside
    assert bot.mirrortab.calls_to("/new_session")[0].json()["duration_min"] == 10080


async def test_a_mirotalk_meeting_longer_than_its_links_can_carry_reaches_no_vendor(bot: Harness) -> None:
    """Within the week every family allows, but past the 99:59 a MiroTalk join link's `duration` can carry: refused
    before the room is made, with the command given back."""
    ack = await bot.command("new standup --minutes 6000", command="/meeting")
    assert ack.status == 200
    answer = await bot.private()
    assert "1 to 5,999 minutes" in answer and "Your command, to try again" in answer
    assert not bot.mirotalk.calls and not bot.slack.posted()


def form(**values: str) -> dict[str, Any]:
    """A submitted /cobrowse new form's state."""
    state: dict[str, Any] = {
        "provider": {"provider": {"type": "static_select", "selected_option": {"value": "mirrortab"}}}
    }
    for block, value in values.items():
        state[block] = {block: {"type": "plain_text_input", "value": value}}
    return state


@pytest.mark.parametrize(
    ("values", "field", "reason"),
    [
        ({"urls": "https://a.example\nhttp://10.1.2.3/"}, "urls", "names a private address (10.1.2.3)"),
        ({"urls": "http://[::1]/"}, "urls", "names a loopback address (::1)"),
        ({"name": LONG_NAME}, "name", "The name is 151 characters long"),
        ({"minutes": "10081"}, "minutes", "from 1 to 10,080"),
        ({"minutes": "99999999999999999999999"}, "minutes", "from 1 to 10,080"),
    ],
)
async def test_the_form_refuses_the_same_bounds_before_it_closes(
    bot: Harness, values: dict[str, str], field: str, reason: str
) -> None:
    metadata = json.dumps({"channel_id": "C0GENERAL"})
    ack = await bot.send(bot.slack.view_submission("cobrowse_new", form(**values), private_metadata=metadata))
    assert ack.status == 200
    answer = ack.json()
    assert answer["response_action"] == "errors" and reason in answer["errors"][field]
    assert not bot.mirrortab.calls and not bot.samesurf.calls


class TestPrivateAddressesAllowed:
    @pytest.fixture
    def overrides(self) -> dict[str, Any]:
        return {"COHOST_ALLOW_PRIVATE_URLS": "true"}

    async def test_a_deployment_on_a_private_network_may_hand_vendors_its_addresses(self, bot: Harness) -> None:
        ack = await bot.command(f"new {slack_link('http://10.0.0.5/intranet')} --name Intranet")
        assert ack.status == 200 and not ack.text
        await bot.card()
        assert bot.mirrortab.calls_to("/new_session")[0].json()["urls"] == ["http://10.0.0.5/intranet"]

    async def test_an_address_no_browser_would_go_to_is_still_refused(self, bot: Harness) -> None:
        answer = await refused(bot, "/cobrowse", "new http://10.0.0.256/")
        assert "does not name a valid host" in answer
