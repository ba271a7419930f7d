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
    assert settings.vendors.values["MIRRORTAB_URL"] == "https://api.mirrortab.example"
    assert settings.admins == frozenset({"U1"})


def test_the_vendors_variables_keep_the_contracts_names_and_defaults() -> None:
    """They are declared in the vendor registry now; DESIGN.md's table is what they must still be."""
    settings = load_settings(_env_file=None)
    assert settings.vendors.values == {
        "MIRRORTAB_API_KEY": "",
        "MIRRORTAB_URL": "https://api.mirrortab.com",
        "SAMESURF_API_KEY": "",
        "SAMESURF_API_SECRET": "",
        "SAMESURF_URL": "https://api.samesurf.com",
        "SAMESURF_JWT_ALG": "HS256",
        "MIROTALK_URL": "",
        "MIROTALK_API_SECRET": "",
        "MIROTALK_HOST_USERNAME": "",
        "MIROTALK_HOST_PASSWORD": "",
        "COVIU_API_KEY": "",
        "COVIU_API_SECRET": "",
        "COVIU_URL": "https://api.coviu.com/v1",
        "MIRRORACE_API_KEY": "",
        "MIRRORACE_API_TOKEN": "",
        "MIRRORACE_URL": "https://mirrorace.com/api/v1",
    }
    assert settings.vendors.providers == {"cobrowse": "", "meeting": ""}
    assert {name: getattr(settings, name) for name in ("COBROWSE_PROVIDER", "MEETING_PROVIDER")} == {
        "COBROWSE_PROVIDER": "",
        "MEETING_PROVIDER": "",
    }


@pytest.mark.parametrize(
    ("vendor", "overrides", "missing"),
    [
        ("samesurf", {}, ["SAMESURF_API_KEY", "SAMESURF_API_SECRET"]),
        ("samesurf", {"SAMESURF_API_KEY": "k", "SAMESURF_JWT_ALG": "none"}, []),  # nothing signed: no secret needed
        ("mirotalk", {"MIROTALK_API_SECRET": "s"}, ["MIROTALK_URL"]),
        ("mirotalk", {"MIROTALK_API_SECRET": "s", "MIROTALK_URL": "https://meet.example"}, []),
    ],
)
def test_a_vendor_is_on_once_the_variables_it_needs_are_set(
    vendor: str, overrides: dict[str, str], missing: list[str]
) -> None:
    assert load_settings(_env_file=None, **overrides).vendors.missing(vendor) == missing
