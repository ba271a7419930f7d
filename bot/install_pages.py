"""The pages a person sees while installing Cohost into a workspace (OAuth mode, bot/oauth.py): the "Add to Slack"
page with the scopes Cohost asks for and why, and the page Slack's redirect ends on, installed or not. Each is a
small page of Cohost's own, with nothing loaded from elsewhere and everything put into it escaped.
"""

from __future__ import annotations

import html
import logging

from slack_bolt.oauth.async_callback_options import AsyncFailureArgs, AsyncSuccessArgs
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

log = logging.getLogger("cohost.oauth")

#: The bot scopes Cohost asks a workspace for, and why: the one list, which manifest.yml repeats (a test holds
#: the two together) and the install page shows.
BOT_SCOPES: tuple[tuple[str, str], ...] = (
    ("commands", "the /cobrowse, /meeting and /upload commands and the “Mirror to MirrorAce” shortcut"),
    ("chat:write", "post session cards, edit them when a session ends, answer you privately"),
    ("chat:write.public", "post a card in a public channel it has not been invited to"),
    ("im:write", "send personal links by direct message when a private answer is not possible"),
    ("users:read", "your time zone (for times you type), your display name (for your links) and admin rights"),
    ("files:read", "download a message's files to mirror them to MirrorAce"),
    ("files:write", "upload the weekly digest's chart"),
)
_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem; color: #1d1c1d; }}
h1 {{ font-size: 1.6rem; }}
a.add {{ display: inline-block; padding: .7rem 1.4rem; border-radius: .4rem; background: #4a154b; color: #fff;
  font-weight: 600; text-decoration: none; }}
a.add:focus, a.add:hover {{ background: #611f69; }}
li {{ margin: .3rem 0; }}
code {{ background: #f4f4f4; padding: 0 .2rem; }}
</style>
</head>
<body>
{body}
</body>
</html>
"""


def page(title: str, body: str) -> str:
    """A small page of Cohost's own, with nothing loaded from elsewhere. `body` is HTML: escape what goes in."""
    return _PAGE.format(title=html.escape(title), body=body)


def install_page(authorize_url: str) -> str:
    scopes = "\n".join(f"<li><code>{html.escape(s)}</code>: {html.escape(why)}</li>" for s, why in BOT_SCOPES)
    return page(
        "Add Cohost to Slack",
        f"""<h1>Add Cohost to your Slack workspace</h1>
<p>Cohost runs co-browsing sessions, video meetings and file mirrors from Slack: <code>/cobrowse</code>,
<code>/meeting</code> and <code>/upload</code>.</p>
<p><a class="add" id="add-to-slack" href="{html.escape(authorize_url)}">Add to Slack</a></p>
<p>Slack will ask you to allow Cohost to:</p>
<ul>
{scopes}
</ul>""",
    )


async def installed_page(args: AsyncSuccessArgs) -> BoltResponse:
    response = await args.default.success(args)  # Bolt's answer clears the state cookie: keep that, not its page
    installation = args.installation
    where = html.escape(installation.team_name or installation.team_id or "your workspace")
    response.body = page(
        "Cohost is installed",
        f"""<h1>Cohost is installed in {where}</h1>
<p>Type <code>/cobrowse help</code>, <code>/meeting help</code> or <code>/upload help</code> in any channel to
start. You can close this page.</p>""",
    )
    return response


#: What a person is told when an install did not complete, by Bolt's reason.
_FAILURES = {
    "access_denied": "The install was cancelled in Slack: nothing was installed.",
    "invalid_browser": (
        "This install was started in another browser, or its cookie is gone: start again from the install page "
        "in this browser."
    ),
    "invalid_state": (
        "This install link was already used or has expired (it is good for ten minutes, once): start again from "
        "the install page."
    ),
    "missing_code": "Slack sent no install code: start again from the install page.",
    "invalid_code": "Slack did not accept the install code (it is good once, for a few minutes): start again.",
    "storage_error": "Cohost installs into one workspace at a time, with its bot: start again from the install page.",
}


async def failed_page(args: AsyncFailureArgs) -> BoltResponse:
    response = await args.default.failure(args)
    log.warning("an install did not complete: %s", args.reason)
    what = _FAILURES.get(args.reason, "Slack did not complete the install: start again from the install page.")
    response.body = page(
        "Cohost was not installed",
        f"""<h1>Cohost was not installed</h1>
<p>{html.escape(what)}</p>
<p><a class="add" href="{html.escape(args.settings.install_path)}">Back to the install page</a></p>""",
    )
    return response


class CohostOAuthFlow(AsyncOAuthFlow):
    """Bolt's OAuth flow, with Cohost's own install page."""

    async def build_install_page_html(self, url: str, request: AsyncBoltRequest) -> str:
        return install_page(url)
