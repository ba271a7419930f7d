"""Nothing acked is lost: a command is recorded before its ack and its outcome after; what a dead process left is
finished by the next one (its session carded, or ended where it cannot be; the person told privately, with the
command as typed), and a live process's commands are never taken over.

A dead process is played by a second `Intakes` on the same store (another owner) that records commands and never
finishes them; whatever the dead process got done at the vendor or in Slack is done with the real clients and
handlers. The test's clock then moves past the lease and the running bot's recovery is run.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import intake
from handlers.cobrowse import commands as cobrowse
from handlers.core.interaction import Interaction
from services import markers
from services.clock import FakeClock
from services.intake import IntakeRecord, Intakes, Outcome, Received, Ticket
from services.store import NewCard, Store
from tests.conftest import ANN, CHANNEL, Harness


class DeadProcess:
    """Records commands as a process that will die does: under its own owner, never finished."""

    def __init__(self, bot: Harness, intakes: Intakes) -> None:
        self.bot = bot
        self.intakes = intakes

    async def took(self, text: str, *, command: str = "/cobrowse", user: str = ANN) -> Ticket:
        key = uuid.uuid4().hex
        ticket = await self.intakes.receive(
            Received(
                key=f"command:{key}",
                team_id=self.bot.slack.team_id,
                user_id=user,
                channel_id=CHANNEL,
                command=command,
                text=text,
                response_url=self.bot.slack.response_url(key),
                at=self.bot.clock.now(),
            )
        )
        assert ticket is not None
        return ticket

    def interaction(self, ticket: Ticket, text: str, *, user: str = ANN) -> Interaction:
        """Its handler's view of the command, to get part of the way before dying."""
        deps = self.bot.runtime.deps
        return Interaction(deps, deps.client, self.bot.slack.team_id, user, CHANNEL, typed=text, intake=ticket)


@pytest.fixture
async def dead(bot: Harness) -> AsyncIterator[DeadProcess]:
    intakes = Intakes(bot.runtime.store, lease=bot.runtime.deps.intakes.lease)
    yield DeadProcess(bot, intakes)
    await intakes.close()


async def records(bot: Harness) -> list[IntakeRecord]:
    async with AsyncSession(bot.runtime.store.engine) as session:
        return list((await session.execute(select(IntakeRecord).order_by(IntakeRecord.id))).scalars())


async def finished(bot: Harness) -> IntakeRecord:
    """The one record, once its outcome is recorded (just after the card is up)."""
    for _ in range(100):
        (record,) = await records(bot)
        if record.outcome is not None:
            return record
        await asyncio.sleep(0.05)
    raise AssertionError("the command's outcome was never recorded")


async def record_of(bot: Harness, ticket: Ticket) -> IntakeRecord:
    found = await bot.runtime.deps.intakes.get(ticket.id)
    assert found is not None
    return found


async def after_the_lease(bot: Harness) -> None:
    """The dead process's leases run out, and the running bot finishes what it left."""
    bot.clock.advance(bot.runtime.deps.intakes.lease + timedelta(seconds=1))
    await intake.recover(bot.runtime.deps)


def said(body: dict[str, Any]) -> str:
    return str(body.get("text", "")) + json.dumps(body.get("blocks") or [], ensure_ascii=False)


# -- recorded before the ack, finished after ----------------------------------------------------------------------


async def test_a_command_is_recorded_before_its_ack_and_its_outcome_after(bot: Harness) -> None:
    ack = await bot.command("new https://a.example --name Demo")
    assert ack.status == 200
    (recorded,) = await records(bot)  # there by the time Slack has its ack
    assert (recorded.user_id, recorded.channel_id, recorded.command) == (ANN, CHANNEL, "/cobrowse")
    assert recorded.text == "new https://a.example --name Demo" and recorded.response_url
    card = await bot.card()
    ((session_id, session),) = bot.mirrortab.sessions.items()
    assert markers.split(session["session_name"]) == ("Demo", recorded.marker)
    done = await finished(bot)
    assert done.outcome == Outcome.CARDED and done.lease_until is None
    assert (done.vendor, done.vendor_id) == ("mirrortab", session_id)
    stored = await bot.runtime.store.find_card(bot.slack.team_id, "mirrortab", session_id)
    assert stored is not None and done.card_id == stored.id and stored.ts == card["ts"]


async def test_a_command_that_cannot_be_recorded_is_refused_in_its_ack_and_does_nothing(bot: Harness) -> None:
    async with bot.runtime.store.engine.begin() as conn:
        await conn.execute(text("DROP TABLE intakes"))
    ack = await bot.command("new https://a.example --name Demo")
    assert ack.status == 200
    assert "could not take your command" in ack.text and "/cobrowse new https://a.example --name Demo" in ack.text
    await asyncio.sleep(0.3)
    assert not bot.mirrortab.calls_to("/new_session") and not bot.slack.posted()


async def test_the_marker_never_shows_in_a_list(bot: Harness) -> None:
    await bot.command("new https://a.example --name Demo")
    await bot.card()
    await bot.command("list")
    listed = await bot.answer_with("Live co-browsing sessions")
    assert "Demo" in listed and "cohost:" not in listed


# -- what a dead process left ----------------------------------------------------------------------------------


async def test_a_session_created_before_the_crash_gets_its_card(bot: Harness, dead: DeadProcess) -> None:
    ticket = await dead.took("new https://a.example --name Demo")
    # The vendor created it, and the process died before it read the answer.
    await bot.runtime.deps.vendors.mirrortab.new_session(name="Demo", marker=ticket.marker)
    ((session_id, _),) = bot.mirrortab.sessions.items()
    await after_the_lease(bot)
    card = await bot.card()
    assert card["channel"] == CHANNEL and session_id in said(card) and "Demo" in said(card) and ANN in said(card)
    assert "cohost:" not in said(card)
    recorded = await record_of(bot, ticket)
    assert recorded.outcome == Outcome.CARDED and recorded.lease_until is None
    assert not bot.slack.responses  # the card says it all
    stored = await bot.runtime.store.find_card(bot.slack.team_id, "mirrortab", session_id)
    assert stored is not None and stored.creator_id == ANN and stored.ts == card["ts"]


async def test_a_command_that_created_nothing_is_answered_privately_with_the_command_as_typed(
    bot: Harness, dead: DeadProcess
) -> None:
    ticket = await dead.took('new https://a.example --name "Demo for ACME"')
    await after_the_lease(bot)
    answer = await bot.answer_with("restarted")
    assert "MirrorTab" in answer and "nothing was created" in answer
    assert '/cobrowse new https://a.example --name "Demo for ACME"' in answer
    assert not bot.mirrortab.sessions and not bot.slack.posted()
    assert (await record_of(bot, ticket)).outcome == Outcome.ANSWERED


async def test_after_half_an_hour_the_answer_goes_by_direct_message(bot: Harness, dead: DeadProcess) -> None:
    await dead.took("new https://a.example --name Demo")
    bot.advance(31)  # the response_url is no longer good
    await after_the_lease(bot)
    (dm,) = await bot.slack.wait_for_calls("chat.postMessage")
    assert dm["channel"] == "D" + ANN and "/cobrowse new https://a.example --name Demo" in said(dm)
    assert not bot.slack.responses


async def test_a_card_already_posted_is_left_as_it_is(bot: Harness, dead: DeadProcess) -> None:
    ticket = await dead.took("new https://a.example --name Demo")
    ix = dead.interaction(ticket, "/cobrowse new https://a.example --name Demo")
    await cobrowse.start_session(ix, cobrowse.NewSession("mirrortab", ["https://a.example"], "Demo"))
    await bot.card()  # ... and died before recording its outcome
    await after_the_lease(bot)
    recorded = await record_of(bot, ticket)
    assert recorded.outcome == Outcome.CARDED and recorded.card_id == ticket.card_id is not None
    assert len(bot.slack.posted()) == 1 and not bot.slack.responses and len(bot.mirrortab.sessions) == 1


async def recorded_card(bot: Harness, dead: DeadProcess, ticket: Ticket, *, posting: bool) -> tuple[str, int]:
    """The dead process got as far as recording the session's card, and perhaps as far as posting it."""
    session = await bot.runtime.deps.vendors.mirrortab.new_session(name="Demo", marker=ticket.marker)
    await dead.intakes.started(ticket, "mirrortab", session.session_id)
    card = await bot.runtime.store.add_card(
        NewCard(bot.slack.team_id, CHANNEL, "cobrowse", "mirrortab", session.session_id, "Demo", ANN, bot.clock.now())
    )
    if posting:
        await dead.intakes.posting(ticket, card.id)
    return session.session_id, card.id


async def test_a_card_perhaps_posted_goes_to_its_creator_privately_not_twice_to_the_channel(
    bot: Harness, dead: DeadProcess
) -> None:
    ticket = await dead.took("new https://a.example --name Demo")
    session_id, _ = await recorded_card(bot, dead, ticket, posting=True)  # died around chat.postMessage
    await after_the_lease(bot)
    answer = await bot.answer_with(session_id)
    assert "If it is not in the channel, here it is" in answer
    assert not bot.slack.posted()
    assert (await record_of(bot, ticket)).outcome == Outcome.CARDED


async def test_a_card_posted_whose_ts_did_not_reach_the_store_is_left_as_it_is(bot: Harness, dead: DeadProcess) -> None:
    ticket = await dead.took("new https://a.example --name Demo")
    _, card_id = await recorded_card(bot, dead, ticket, posting=True)
    await dead.intakes.posted(ticket, "1700000000.000100")
    await after_the_lease(bot)
    stored = await bot.runtime.store.get_card(bot.slack.team_id, card_id)
    assert stored is not None and stored.ts == "1700000000.000100"  # its End button finds its message
    assert not bot.slack.posted() and not bot.slack.responses
    assert (await record_of(bot, ticket)).outcome == Outcome.CARDED


async def test_a_card_recorded_but_not_yet_posted_is_posted_once(bot: Harness, dead: DeadProcess) -> None:
    ticket = await dead.took("new https://a.example --name Demo")
    session_id, card_id = await recorded_card(bot, dead, ticket, posting=False)
    await after_the_lease(bot)
    posted = await bot.card()
    assert session_id in said(posted) and not bot.slack.responses
    stored = await bot.runtime.store.get_card(bot.slack.team_id, card_id)
    assert stored is not None and stored.ts == posted["ts"]
    assert len(await bot.runtime.store.active_cards()) == 1


async def held_place(bot: Harness, dead: DeadProcess, ticket: Ticket) -> str:
    """The dead process had posted a message holding the card's place (a form's picked channel), as
    `form_start.in_picked_channel` does, and recorded it."""
    held = await bot.runtime.deps.client.chat_postMessage(channel=CHANNEL, text="Ann is starting a session here…")
    await dead.intakes.holding(ticket, str(held["ts"]))
    return str(held["ts"])


async def card_took_its_held_place(bot: Harness, held: str, session_id: str) -> None:
    """The session's card is the held message, edited: never a second message in the channel."""
    (update,) = await bot.slack.wait_for_calls("chat.update")
    assert update["ts"] == held and session_id in said(bot.slack.messages[(CHANNEL, held)])
    assert len(bot.slack.posted()) == 1  # the held message alone: the card is not posted a second time


async def test_a_place_held_for_a_card_that_never_came_is_taken_away(bot: Harness, dead: DeadProcess) -> None:
    ticket = await dead.took("new https://a.example --name Demo")
    held = await held_place(bot, dead, ticket)
    await after_the_lease(bot)
    answer = await bot.answer_with("restarted")
    assert "nothing was created" in answer and "/cobrowse new https://a.example --name Demo" in answer
    assert (CHANNEL, held) not in bot.slack.messages  # no "is starting…" left in the channel for good
    assert (await record_of(bot, ticket)).outcome == Outcome.ANSWERED


async def test_a_session_created_before_the_crash_takes_the_place_held_for_its_card(
    bot: Harness, dead: DeadProcess
) -> None:
    ticket = await dead.took("new https://a.example --name Demo")
    held = await held_place(bot, dead, ticket)
    await bot.runtime.deps.vendors.mirrortab.new_session(name="Demo", marker=ticket.marker)
    ((session_id, _),) = bot.mirrortab.sessions.items()
    await after_the_lease(bot)
    await card_took_its_held_place(bot, held, session_id)
    stored = await bot.runtime.store.find_card(bot.slack.team_id, "mirrortab", session_id)
    assert stored is not None and stored.ts == held  # its End button finds it
    assert (await record_of(bot, ticket)).outcome == Outcome.CARDED


async def test_a_card_perhaps_posted_in_its_held_place_is_put_there_again_not_sent_privately(
    bot: Harness, dead: DeadProcess
) -> None:
    ticket = await dead.took("new https://a.example --name Demo")
    held = await held_place(bot, dead, ticket)
    session_id, _ = await recorded_card(bot, dead, ticket, posting=True)  # died around chat.update
    await after_the_lease(bot)
    await card_took_its_held_place(bot, held, session_id)
    assert not bot.slack.responses
    assert (await record_of(bot, ticket)).outcome == Outcome.CARDED


async def test_a_session_that_cannot_be_carded_is_ended_at_the_vendor(bot: Harness, dead: DeadProcess) -> None:
    ticket = await dead.took("new https://a.example --name Demo")
    session = await bot.runtime.deps.vendors.mirrortab.new_session(name="Demo", marker=ticket.marker)
    bot.slack.faults.inject("/api/chat.postMessage", "500", times=10)
    await after_the_lease(bot)
    answer = await bot.answer_with("its card could not be posted")
    assert "ended it at MirrorTab" in answer and session.session_id in answer
    assert "/cobrowse new https://a.example --name Demo" in answer
    assert not bot.mirrortab.sessions
    assert (await record_of(bot, ticket)).outcome == Outcome.ENDED


async def test_a_session_recorded_but_gone_at_the_vendor_is_said_to_be_gone(bot: Harness, dead: DeadProcess) -> None:
    ticket = await dead.took("new https://a.example --name Demo")
    session = await bot.runtime.deps.vendors.mirrortab.new_session(name="Demo", marker=ticket.marker)
    await dead.intakes.started(ticket, "mirrortab", session.session_id)
    bot.mirrortab.sessions.clear()  # ended at MirrorTab meanwhile
    await after_the_lease(bot)
    answer = await bot.answer_with("no longer live")
    assert session.session_id in answer and not bot.slack.posted()


async def test_a_command_that_starts_nothing_is_answered_that_it_may_not_have_finished(
    bot: Harness, dead: DeadProcess
) -> None:
    await dead.took("end abc123")
    await after_the_lease(bot)
    answer = await bot.answer_with("could not finish it")
    assert "/cobrowse end abc123" in answer
    assert not bot.mirrortab.calls_to("/list_sessions")  # nothing to look for


async def test_a_vendor_that_cannot_list_is_asked_again_later_then_the_person_is_told(
    bot: Harness, dead: DeadProcess
) -> None:
    ticket = await dead.took("new https://a.example --name Demo")
    bot.mirrortab.faults.inject("/list_sessions", "500", times=1000)
    await after_the_lease(bot)
    assert not bot.slack.responses
    recorded = await record_of(bot, ticket)
    assert recorded.outcome is None and recorded.owner is None  # free for any process to try again
    for _ in range(intake.MAX_RECOVERIES):
        bot.clock.advance(intake.RETRY_AFTER)
        await after_the_lease(bot)
    answer = await bot.answer_with("could not tell whether it was created")
    assert "MirrorTab" in answer and "/cobrowse new https://a.example --name Demo" in answer
    assert (await record_of(bot, ticket)).outcome == Outcome.ANSWERED


async def test_a_samesurf_room_is_carded_and_its_leader_link_sent_privately(bot: Harness, dead: DeadProcess) -> None:
    ticket = await dead.took("new https://a.example --provider samesurf --name Tour")
    room = await bot.runtime.deps.vendors.samesurf.create_room(
        starturl="https://a.example", title="Tour", marker=ticket.marker
    )
    await after_the_lease(bot)
    card = await bot.card()
    assert room.room in said(card) and "Tour" in said(card) and "cohost:" not in said(card)
    leader = await bot.answer_with("leader link")
    assert room.privateinvitation is not None and room.privateinvitation in leader


async def test_a_coviu_session_is_carded_and_its_host_link_sent_privately(bot: Harness, dead: DeadProcess) -> None:
    ticket = await dead.took("new --provider coviu --name Checkup", command="/meeting")
    start = bot.clock.now() + timedelta(minutes=1)
    session = await bot.runtime.deps.vendors.coviu.create_session(
        start=start, end=start + timedelta(hours=1), name="Checkup", marker=ticket.marker
    )
    await after_the_lease(bot)
    card = await bot.card()
    assert session.session_id in said(card) and "Checkup" in said(card) and "cohost:" not in said(card)
    assert "host link" in await bot.answer_with(session.session_id)


async def test_a_mirotalk_meeting_left_before_its_card_is_said_not_to_exist(bot: Harness, dead: DeadProcess) -> None:
    await dead.took("new standup", command="/meeting")
    await after_the_lease(bot)
    answer = await bot.answer_with("restarted")
    assert "nothing was created at MiroTalk" in answer and "/meeting new standup" in answer


# -- a vendor's lost answer ---------------------------------------------------------------------------------------


async def test_a_session_made_after_all_when_the_answer_was_lost_gets_its_card(bot: Harness) -> None:
    bot.mirrortab.faults.set_latency("/new_session", 3)  # past VENDOR_TIMEOUT_S: Cohost gives up
    await bot.command("new https://a.example --name Demo")
    assert "MirrorTab did not answer" in await bot.answer_with("Demo")
    record = await finished(bot)
    assert record.outcome == Outcome.ANSWERED and record.lease_until is not None  # to be looked at again
    # ... but MirrorTab went on and made the session.
    bot.mirrortab.faults.clear()
    session = await bot.runtime.deps.vendors.mirrortab.new_session(name="Demo", marker=record.marker)
    await after_the_lease(bot)
    card = await bot.card()
    assert session.session_id in said(card)
    assert "after all" in await bot.answer_with("after all")
    assert (await records(bot))[0].lease_until is None


async def test_when_the_lost_answer_made_nothing_nothing_more_is_said(bot: Harness) -> None:
    bot.mirrortab.faults.set_latency("/new_session", 3)
    await bot.command("new https://a.example --name Demo")
    await bot.answer_with("MirrorTab did not answer")
    await finished(bot)
    bot.mirrortab.faults.clear()
    await after_the_lease(bot)
    (record,) = await records(bot)
    assert record.lease_until is None and record.outcome == Outcome.ANSWERED
    assert len(bot.slack.responses) == 1 and not bot.slack.posted() and not bot.mirrortab.sessions


# -- a live process's commands stay its own ---------------------------------------------------------------------


async def test_a_live_process_never_takes_over_its_own_commands_nor_another_live_ones(
    bot: Harness, dead: DeadProcess
) -> None:
    own, other = bot.runtime.deps.intakes, dead  # alive this time: it renews its leases
    mine = await own.receive(
        Received("command:mine", bot.slack.team_id, ANN, CHANNEL, "/cobrowse", "list", None, bot.clock.now())
    )
    theirs = await other.took("list")
    assert mine is not None
    bot.clock.advance(own.lease / 2)
    await other.intakes.renew(bot.clock.now())
    bot.clock.advance(own.lease / 2 + timedelta(seconds=1))
    await intake.recover(bot.runtime.deps)  # past its own lease: still not taken over by itself
    assert (await record_of(bot, Ticket(mine.id, mine.marker))).outcome is None
    assert (await record_of(bot, theirs)).outcome is None
    assert not bot.slack.responses


@pytest.fixture
async def two_stores(database_url: str) -> Any:
    first = Store(database_url)
    await first.migrate()
    second = Store(database_url)
    yield first, second
    await first.close()
    await second.close()


async def test_two_processes_recovering_at_once_each_take_a_record_once(two_stores: tuple[Store, Store]) -> None:
    clock = FakeClock()
    lease = timedelta(seconds=20)
    dead = Intakes(two_stores[0], lease=lease)
    for n in range(60):
        await dead.receive(Received(f"k{n}", "T1", ANN, CHANNEL, "/cobrowse", "list", None, clock.now()))
    clock.advance(lease + timedelta(seconds=1))
    one, two = Intakes(two_stores[0], lease=lease), Intakes(two_stores[1], lease=lease)
    try:
        claims = await asyncio.gather(*(i.claim_orphans(clock.now(), limit=7) for _ in range(6) for i in (one, two)))
    finally:
        for intakes in (dead, one, two):
            await intakes.close()
    taken = [record.id for batch in claims for record in batch]
    assert len(taken) == len(set(taken)) == 60
