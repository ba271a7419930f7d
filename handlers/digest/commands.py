"""`digest daily|weekly|off|show`, added to each family's table: a channel has at most one digest per family,
stored with its next run."""

from __future__ import annotations

from handlers.core.blocks import Mrkdwn, code, date_token
from handlers.core.interaction import Interaction
from handlers.core.parsing import Family, Option, Parsed, ParseError
from handlers.core.when import zone
from handlers.digest.schedule import FAMILY_TITLES, Cadence, Schedule, time_of_day, weekday_of
from services.store import NewDigest

TZ = Option("tz", metavar="ZONE")


#: The families that offer digests (filled by `add_digest_subcommands`), by their store key.
_FAMILIES: dict[str, Family] = {}


def command_of(family: str) -> str:
    """The slash command of a family's digests (`/cobrowse`), as its subscribers type it."""
    return _FAMILIES[family].command if family in _FAMILIES else f"/{family}"


def add_digest_subcommands(family: Family, key: str) -> None:
    """Adds `digest daily|weekly|off|show` to a family's table; `key` is its name in the store (`cobrowse`)."""
    _FAMILIES[key] = family
    what = f"{FAMILY_TITLES[key].lower()} digest"

    @family.sub("digest daily HH:MM", TZ, summary=f"Post the {what} here every day at HH:MM (your time zone or --tz).")
    async def daily(ix: Interaction, p: Parsed) -> None:
        await _subscribe(ix, key, p, "daily")

    @family.sub("digest weekly DAY HH:MM", TZ, summary=f"Post the {what} with a chart here every week (DAY: mon..sun).")
    async def weekly(ix: Interaction, p: Parsed) -> None:
        await _subscribe(ix, key, p, "weekly")

    @family.sub("digest off", summary=f"Stop this channel's {what}.")
    async def off(ix: Interaction, p: Parsed) -> None:
        if await ix.deps.store.remove_digest(ix.team_id, ix.channel_id, key):
            await ix.private(Mrkdwn("The {} of this channel is off.").format(what))
        else:
            await ix.private(Mrkdwn("This channel had no {}.").format(what))

    @family.sub("digest show", summary=f"When this channel's {what} comes, for you alone.")
    async def show(ix: Interaction, p: Parsed) -> None:
        sub = await ix.deps.store.digest(ix.team_id, ix.channel_id, key)
        if sub is None:
            await ix.private(
                Mrkdwn("This channel has no {}. {} sets one ({} shows the others).").format(
                    what, code(f"{family.command} digest daily 09:00"), code(f"{family.command} help")
                )
            )
            return
        await ix.private(Mrkdwn("{}, next {}.").format(Schedule.of(sub).describe(), date_token(sub.next_run_at)))


async def _subscribe(ix: Interaction, key: str, p: Parsed, cadence: Cadence) -> None:
    usage = p.sub.usage()
    weekday = weekday_of(p.arg("DAY"), usage) if cadence == "weekly" else None
    at = time_of_day(p.arg("HH:MM"), usage)
    try:
        tz = zone(p.opt("tz")) if p.opt("tz") else await ix.tz()
    except ParseError as exc:
        raise ParseError(exc.message, usage) from None
    schedule = Schedule(cadence, at, tz, weekday)
    saved = await ix.deps.store.set_digest(
        NewDigest(
            team_id=ix.team_id,
            channel_id=ix.channel_id,
            family=key,
            cadence=cadence,
            weekday=weekday,
            at_time=f"{at:%H:%M}",
            tz=tz.key,
            created_by=ix.user_id,
            next_run_at=schedule.next_after(ix.deps.clock.now()),
        )
    )
    command = command_of(key)
    await ix.private(
        Mrkdwn(":calendar: {} digest of this channel: {}, next {}. {} stops it.").format(
            FAMILY_TITLES[key], schedule.describe(), date_token(saved.next_run_at), code(f"{command} digest off")
        )
    )
