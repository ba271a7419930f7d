"""`digest daily|weekly|off|show`, added to each family's table: a channel has at most one digest per family,
stored with its next run."""

from __future__ import annotations

from dataclasses import dataclass

from handlers.core.blocks import Mrkdwn, code, date_token
from handlers.core.bounds import ParseError
from handlers.core.interaction import Interaction
from handlers.core.parsing import TZ, Family, NoArgs, arg, opt
from handlers.core.when import zone
from handlers.digest.schedule import Cadence, Schedule, time_of_day, weekday_of
from services.registry import FAMILIES
from services.store import NewDigest


def command_of(family: str) -> str:
    """The slash command of a family's digests (`/cobrowse`), as its subscribers type it."""
    return FAMILIES[family].command if family in FAMILIES else f"/{family}"


@dataclass(frozen=True)
class Daily:
    at: str = arg("HH:MM")
    tz: str | None = opt(TZ)


@dataclass(frozen=True)
class Weekly:
    day: str = arg("DAY")
    at: str = arg("HH:MM")
    tz: str | None = opt(TZ)


def add_digest_subcommands(family: Family, key: str) -> None:
    """Adds `digest daily|weekly|off|show` to a family's table; `key` is its name in the store (`cobrowse`)."""
    what = f"{FAMILIES[key].title.lower()} digest"

    @family.sub("digest daily", Daily, summary=f"Post the {what} here every day at HH:MM (your time zone or --tz).")
    async def daily(ix: Interaction, a: Daily) -> None:
        await _subscribe(ix, key, "daily", None, a.at, a.tz, family.find("digest daily").usage())

    @family.sub("digest weekly", Weekly, summary=f"Post the {what} with a chart here every week (DAY: mon..sun).")
    async def weekly(ix: Interaction, a: Weekly) -> None:
        await _subscribe(ix, key, "weekly", a.day, a.at, a.tz, family.find("digest weekly").usage())

    @family.sub("digest off", NoArgs, summary=f"Stop this channel's {what}.")
    async def off(ix: Interaction, a: NoArgs) -> None:
        if await ix.deps.store.remove_digest(ix.team_id, ix.channel_id, key):
            await ix.private(Mrkdwn("The {} of this channel is off.").format(what))
        else:
            await ix.private(Mrkdwn("This channel had no {}.").format(what))

    @family.sub("digest show", NoArgs, summary=f"When this channel's {what} comes, for you alone.")
    async def show(ix: Interaction, a: NoArgs) -> None:
        sub = await ix.deps.store.digest(ix.team_id, ix.channel_id, key)
        if sub is None:
            await ix.private(
                Mrkdwn("This channel has no {}. {} sets one ({} shows the others).").format(
                    what, code(f"{family.command} digest daily 09:00"), code(f"{family.command} help")
                )
            )
            return
        await ix.private(Mrkdwn("{}, next {}.").format(Schedule.of(sub).describe(), date_token(sub.next_run_at)))


async def _subscribe(
    ix: Interaction, key: str, cadence: Cadence, day: str | None, at_text: str, tz_name: str | None, usage: str
) -> None:
    weekday = weekday_of(day, usage) if day is not None else None
    at = time_of_day(at_text, usage)
    try:
        tz = zone(tz_name) if tz_name else await ix.tz()
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
            FAMILIES[key].title, schedule.describe(), date_token(saved.next_run_at), code(f"{command} digest off")
        )
    )
