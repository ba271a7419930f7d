"""OAuth mode's settings and manifest: what turns it on, the one line that names what is missing or wrong (never a
secret), and the manifest asking for the scopes and events Cohost uses and declaring the shortcuts it listens to."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from bot.install_pages import BOT_SCOPES
from bot.settings import SettingsError, load_settings
from handlers.cobrowse.views import NEW_SESSION_SHORTCUT
from handlers.meeting.views import NEW_MEETING_SHORTCUT
from handlers.upload.shortcuts import MIRROR_FILE
from sandbox.world import ROOT

SIGNING_SECRET = "sandbox-signing-secret"


# -- settings and the manifest --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"COHOST_SECRET_KEY": ""}, "COHOST_SECRET_KEY is required"),
        ({"COHOST_SECRET_KEY": "not-a-fernet-key"}, "COHOST_SECRET_KEY must be a Fernet key"),
        ({"SLACK_SIGNING_SECRET": ""}, "SLACK_SIGNING_SECRET is required"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_BOT_TOKEN serves one workspace"),
        ({"SLACK_CLIENT_SECRET": ""}, "SLACK_CLIENT_SECRET is required with SLACK_CLIENT_ID"),
    ],
)
def test_oauth_mode_stops_start_up_with_one_line_naming_the_variable(change: dict[str, str], named: str) -> None:
    key = Fernet.generate_key().decode()
    values = {
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_BOT_TOKEN": "",
        "SLACK_CLIENT_ID": "1111.2222",
        "SLACK_CLIENT_SECRET": "secret",
        "COHOST_SECRET_KEY": key,
    }
    with pytest.raises(SettingsError) as raised:
        load_settings(_env_file=None, **(values | change))
    message = str(raised.value)
    assert named in message and "\n" not in message and key not in message and "not-a-fernet-key" not in message


def test_oauth_settings_make_oauth_mode() -> None:
    settings = load_settings(
        _env_file=None,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_BOT_TOKEN="",
        SLACK_CLIENT_ID="1111.2222",
        SLACK_CLIENT_SECRET="secret",
        COHOST_SECRET_KEY=Fernet.generate_key().decode(),
    )
    assert settings.slack_mode == "oauth"
    assert settings.SLACK_AUTHORIZE_URL == "https://slack.com/oauth/v2/authorize"


def manifest_list(path: list[str]) -> list[str]:
    """A list in manifest.yml, found by its keys' path (the manifest is plain YAML of mappings and lists)."""
    lines = (ROOT / "manifest.yml").read_text().splitlines()
    depth, found = 0, []
    for line in lines:
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if depth < len(path):
            if stripped == f"{path[depth]}:" and indent == 2 * depth:
                depth += 1
            continue
        if stripped.startswith("- ") and indent >= 2 * depth:
            found.append(stripped[2:].strip())
        elif stripped and indent < 2 * depth + 2 and not stripped.startswith("- "):
            break
    return found


def test_the_manifest_asks_for_the_scopes_cohost_asks_for_and_subscribes_to_uninstalls() -> None:
    assert manifest_list(["oauth_config", "scopes", "bot"]) == [scope for scope, _ in BOT_SCOPES]
    assert {"app_uninstalled", "tokens_revoked", "app_home_opened"} <= set(
        manifest_list(["settings", "event_subscriptions", "bot_events"])
    )
    assert manifest_list(["oauth_config", "redirect_urls"]) == ["https://cohost.example.com/slack/oauth_redirect"]


def manifest_shortcuts() -> dict[str, str]:
    """`{callback_id: type}` of the shortcuts manifest.yml declares (features -> shortcuts)."""
    lines = (ROOT / "manifest.yml").read_text().splitlines()
    start = lines.index("  shortcuts:") + 1
    items: list[dict[str, str]] = []
    for line in lines[start:]:
        if not line.startswith("    "):
            break
        key, _, value = line.strip().removeprefix("- ").partition(": ")
        if line.strip().startswith("- "):
            items.append({})
        items[-1][key] = value
    return {item["callback_id"]: item["type"] for item in items}


def test_the_manifest_declares_the_shortcuts_cohost_listens_to() -> None:
    assert manifest_shortcuts() == {
        MIRROR_FILE: "message",
        NEW_SESSION_SHORTCUT: "global",  # "Start a co-browsing session"
        NEW_MEETING_SHORTCUT: "global",  # "Start a meeting"
    }
