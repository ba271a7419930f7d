"""`/cobrowse reseller`: SameSurf subscriptions and their API keys, for Cohost admins and workspace admins."""

from __future__ import annotations

from dataclasses import dataclass

from handlers.cobrowse.commands import COBROWSE, feature
from handlers.core.blocks import Mrkdwn, code
from handlers.core.bounds import ParseError
from handlers.core.interaction import Interaction
from handlers.core.parsing import Option, arg, opt
from services import samesurf


async def _admin_only(ix: Interaction) -> bool:
    if await ix.is_admin():
        return True
    await ix.private(Mrkdwn(":no_entry: `/cobrowse reseller` is for Cohost admins and workspace admins."))
    return False


@dataclass(frozen=True)
class Create:
    name: str = arg("NAME")
    licenses: int = opt(Option("licenses", "int", metavar="N", minimum=1, required=True))
    settings: list[tuple[str, str]] = opt(Option("set", "pair", metavar="KEY=VALUE", repeat=True))
    disable: list[str] = opt(Option("disable", metavar="FEATURE", repeat=True))


@COBROWSE.sub("reseller create", Create)
async def reseller_create(ix: Interaction, a: Create) -> None:
    """Create a SameSurf subscription (admins)."""
    overrides = dict(a.settings)
    usage = COBROWSE.find("reseller create").usage()
    for key in overrides:
        if key not in samesurf.OVERRIDE_KEYS:
            raise ParseError(f"`{key}` is not a SameSurf setting. One of: {', '.join(samesurf.OVERRIDE_KEYS)}.", usage)
    disabled = [feature(name) for name in a.disable]
    if not await _admin_only(ix):
        return
    await ix.deps.vendors.samesurf.create_subscription(
        a.name, licensecount=a.licenses, overrides=overrides, disabledfeatures=disabled
    )
    await ix.private(Mrkdwn("Created SameSurf subscription {} with {} licences.").format(code(a.name), a.licenses))


@dataclass(frozen=True)
class Delete:
    name: str = arg("NAME")
    force: bool = opt(Option("force", "flag"))


@COBROWSE.sub("reseller delete", Delete)
async def reseller_delete(ix: Interaction, a: Delete) -> None:
    """Delete a SameSurf subscription (admins; `--force` when it has API keys)."""
    if not await _admin_only(ix):
        return
    await ix.deps.vendors.samesurf.delete_subscription(a.name, force=a.force)
    await ix.private(Mrkdwn("Deleted SameSurf subscription {}.").format(code(a.name)))


@dataclass(frozen=True)
class ApiKey:
    subscription: str = arg("SUBSCRIPTION")


@COBROWSE.sub("reseller apikey", ApiKey)
async def reseller_apikey(ix: Interaction, a: ApiKey) -> None:
    """New API credentials for a subscription, to you alone (admins)."""
    if not await _admin_only(ix):
        return
    key = await ix.deps.vendors.samesurf.create_api_key(a.subscription)
    await ix.private(
        Mrkdwn(
            ":closed_lock_with_key: API credentials for {} (shown once, to you alone; store them in a secret "
            "manager):\nKey: {}\nSecret: {}"
        ).format(code(a.subscription), code(key.apikey), code(key.apisecret.get_secret_value()))
    )
