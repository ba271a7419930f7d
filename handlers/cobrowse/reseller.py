"""`/cobrowse reseller`: SameSurf subscriptions and their API keys, for Cohost admins and workspace admins."""

from __future__ import annotations

from handlers.cobrowse.commands import COBROWSE, feature
from handlers.core.blocks import Mrkdwn, code
from handlers.core.interaction import Interaction
from handlers.core.parsing import Option, Parsed, ParseError
from services import samesurf


async def _admin_only(ix: Interaction) -> bool:
    if await ix.is_admin():
        return True
    await ix.private(Mrkdwn(":no_entry: `/cobrowse reseller` is for Cohost admins and workspace admins."))
    return False


@COBROWSE.sub(
    "reseller create NAME",
    Option("licenses", "int", metavar="N", minimum=1, required=True),
    Option("set", "pair", metavar="KEY=VALUE", repeat=True),
    Option("disable", metavar="FEATURE", repeat=True),
    summary="Create a SameSurf subscription (admins).",
)
async def reseller_create(ix: Interaction, p: Parsed) -> None:
    overrides = dict(p.opt("set", []))
    usage = COBROWSE.find("reseller create").usage()
    for key in overrides:
        if key not in samesurf.OVERRIDE_KEYS:
            raise ParseError(f"`{key}` is not a SameSurf setting. One of: {', '.join(samesurf.OVERRIDE_KEYS)}.", usage)
    disabled = [feature(name) for name in p.opt("disable", [])]
    if not await _admin_only(ix):
        return
    name = p.arg("NAME")
    await ix.deps.vendors.samesurf.create_subscription(
        name, licensecount=p.opt("licenses"), overrides=overrides, disabledfeatures=disabled
    )
    await ix.private(Mrkdwn("Created SameSurf subscription {} with {} licences.").format(code(name), p.opt("licenses")))


@COBROWSE.sub(
    "reseller delete NAME",
    Option("force", "flag"),
    summary="Delete a SameSurf subscription (admins; `--force` when it has API keys).",
)
async def reseller_delete(ix: Interaction, p: Parsed) -> None:
    if not await _admin_only(ix):
        return
    await ix.deps.vendors.samesurf.delete_subscription(p.arg("NAME"), force=bool(p.opt("force")))
    await ix.private(Mrkdwn("Deleted SameSurf subscription {}.").format(code(p.arg("NAME"))))


@COBROWSE.sub("reseller apikey SUBSCRIPTION", summary="New API credentials for a subscription, to you alone (admins).")
async def reseller_apikey(ix: Interaction, p: Parsed) -> None:
    if not await _admin_only(ix):
        return
    key = await ix.deps.vendors.samesurf.create_api_key(p.arg("SUBSCRIPTION"))
    await ix.private(
        Mrkdwn(
            ":closed_lock_with_key: API credentials for {} (shown once, to you alone; store them in a secret "
            "manager):\nKey: {}\nSecret: {}"
        ).format(code(p.arg("SUBSCRIPTION")), code(key.apikey), code(key.apisecret.get_secret_value()))
    )
