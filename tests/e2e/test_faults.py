"""Every vendor failure reaches the caller privately, names the vendor, keeps what they typed; the bot stays up."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from tests.conftest import Harness

TYPED = "/cobrowse new https://a.example --name Demo"


async def assert_healthy(bot: Harness) -> None:
    async with bot.http.get(bot.url + "/healthz") as resp:
        assert resp.status == 200


@pytest.mark.parametrize(
    ("fault", "phrase"),
    [
        pytest.param("timeout", "did not answer within 2 s", marks=pytest.mark.slow),  # waits out the 2 s
        ("500", "had an internal error"),
        ("429", "rate limiting"),
        ("html", "web page instead of data"),
        ("malformed", "not valid JSON"),
        ("reset", "could not be reached"),
    ],
)
async def test_mirrortab_faults_are_answered_privately(bot: Harness, fault: str, phrase: str) -> None:
    bot.mirrortab.faults.inject("/new_session", fault)  # type: ignore[arg-type]
    ack = await bot.command("new https://a.example --name Demo")
    assert ack.status == 200 and ack.seconds < 1.0
    answer = await bot.private()
    assert "*MirrorTab*" in answer and phrase in answer
    assert "try again" in answer.lower()
    assert TYPED in answer
    assert not bot.slack.api_calls("chat.postMessage")
    await assert_healthy(bot)
    await bot.command("new https://a.example")  # and the next one goes through
    await bot.card()


@pytest.mark.parametrize("fault", ["500", "html", "malformed"])
async def test_samesurf_faults_are_answered_privately(bot: Harness, fault: str) -> None:
    bot.samesurf.faults.inject("/api/v3/create", fault)  # type: ignore[arg-type]
    await bot.command("new https://a.example --provider samesurf")
    answer = await bot.private()
    assert "*SameSurf*" in answer and "/cobrowse new https://a.example --provider samesurf" in answer
    await assert_healthy(bot)


async def test_samesurf_refusals_carry_its_own_words(bot: Harness) -> None:
    await bot.command("invite 999999999")
    answer = await bot.private()
    assert "*SameSurf*" in answer and "room" in answer.lower()


class TestWrongCredentials:
    @pytest.fixture
    def overrides(self) -> dict[str, Any]:
        return {"MIRRORTAB_API_KEY": "not-the-key", "SAMESURF_API_SECRET": "not-the-secret-of-this-samesurf-account"}

    async def test_a_refused_key_asks_for_an_admin_and_shows_no_key(self, bot: Harness) -> None:
        await bot.command("new https://a.example")
        answer = await bot.private()
        assert "*MirrorTab*" in answer and "ask an admin to check them" in answer
        assert "not-the-key" not in answer
        await bot.command("new https://a.example --provider samesurf")
        answer = await bot.private(2)
        assert "*SameSurf*" in answer and "Invalid JWT" in answer and "not-the-secret" not in answer


class TestVendorOff:
    @pytest.fixture
    def overrides(self) -> dict[str, Any]:
        return {"SAMESURF_API_KEY": "", "SAMESURF_API_SECRET": ""}

    async def test_a_vendor_that_is_off_says_which_variables_turn_it_on(self, bot: Harness) -> None:
        await bot.command("new https://a.example --provider samesurf")
        answer = await bot.private()
        assert "*SameSurf* is not set up" in answer and "SAMESURF_API_KEY, SAMESURF_API_SECRET" in answer

    async def test_list_names_only_the_vendors_that_are_on(self, bot: Harness) -> None:
        await bot.command("list")
        answer = await bot.private()
        assert "MirrorTab" in answer and "SameSurf" not in answer


async def test_no_secret_reaches_slack_or_a_log_line(bot: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    bot.mirrortab.faults.inject("/list_sessions", "500", times=10)
    for text in ("new https://a.example", "new https://a.example --provider samesurf", "list", "stats", "end nope"):
        await bot.command(text, user="U0ADA")
    await bot.slack.wait_for_responses(count=4)
    secrets = [
        bot.mirrortab.api_key,
        bot.samesurf.api_key,
        bot.samesurf.api_secret,
        bot.slack.signing_secret,
        bot.slack.bot_token,
    ]
    seen_by_slack = json.dumps(bot.slack.api_calls("chat.postMessage")) + json.dumps(
        [r.body for r in bot.slack.responses]
    )
    for secret in secrets:
        assert secret not in seen_by_slack
        assert secret not in caplog.text
