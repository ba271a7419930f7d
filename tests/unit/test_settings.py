"""Settings are checked at start (DESIGN.md, "Trust and safety"): a credential of blanks, or with blanks around it,
stops start-up with one line naming it and never showing it; an empty one is simply not set."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.settings import Settings, SettingsError, is_credential, load_settings

CREDENTIALS = sorted(name for name in Settings.model_fields if is_credential(name))
VALUE = "s3cret-value"


def test_every_secret_token_and_key_counts_as_a_credential() -> None:
    assert CREDENTIALS == [
        "COHOST_SECRET_KEY",
        "COVIU_API_KEY",
        "COVIU_API_SECRET",
        "MIROTALK_API_SECRET",
        "MIROTALK_HOST_PASSWORD",
        "MIRRORACE_API_KEY",
        "MIRRORACE_API_TOKEN",
        "MIRRORTAB_API_KEY",
        "SAMESURF_API_KEY",
        "SAMESURF_API_SECRET",
        "SLACK_APP_TOKEN",
        "SLACK_BOT_TOKEN",
        "SLACK_CLIENT_SECRET",
        "SLACK_SIGNING_SECRET",
    ]


@pytest.mark.parametrize("name", CREDENTIALS)
@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (" ", "is only whitespace"),
        ("\t\n", "is only whitespace"),
        (f" {VALUE}", "has whitespace around it"),
        (f"{VALUE}\n", "has whitespace around it"),
    ],
)
def test_a_credential_with_blanks_is_named_and_never_shown(name: str, value: str, reason: str) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(_env_file=None, **{name: value})
    message = str(refused.value)
    assert message.startswith(f"{name}: {reason}")
    assert "\n" not in message
    assert VALUE not in message


@pytest.mark.parametrize("name", CREDENTIALS)
def test_an_empty_credential_is_simply_not_set(name: str) -> None:
    assert getattr(load_settings(_env_file=None, **{name: ""}), name) == ""


class LaterSettings(Settings):
    """Credentials a later version adds (several workspaces, encrypted tokens, MiroTalk's host protection)."""

    SLACK_CLIENT_SECRET: str = ""
    COHOST_SECRET_KEY: str = ""
    MIROTALK_HOST_PASSWORD: str = ""


@pytest.mark.parametrize("name", ["SLACK_CLIENT_SECRET", "COHOST_SECRET_KEY", "MIROTALK_HOST_PASSWORD"])
def test_a_credential_added_later_is_checked_by_its_name(name: str) -> None:
    with pytest.raises(ValidationError, match="is only whitespace"):
        LaterSettings(_env_file=None, **{name: "  "})  # type: ignore[arg-type]
    assert getattr(LaterSettings(_env_file=None, **{name: VALUE}), name) == VALUE  # type: ignore[arg-type]


def test_other_settings_keep_their_own_rules() -> None:
    settings = load_settings(_env_file=None, MIRRORTAB_URL=" https://api.mirrortab.example ", COHOST_ADMINS=" U1 ")
    assert settings.MIRRORTAB_URL == "https://api.mirrortab.example"
    assert settings.admins == frozenset({"U1"})
