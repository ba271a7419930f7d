"""The listeners every family registers through: a slash command read by its grammar table, a button click, a
form submission, a message shortcut and a global shortcut. A family describes what it answers (`FamilyListeners`:
its command table, its cards' buttons, its new-session form, its message shortcuts) and `register` wires it.

Each is acknowledged first (a typo is answered in the ack itself, usage line included), then claimed once (a
redelivery acts on nothing; a command or a form is claimed by its intake record, written before the ack:
handlers/core/intake.py), then its Interaction is made, in one place (`Interaction.of`), and the family's work runs
guarded: any failure becomes a private answer.

Everything slower than parsing runs after `ack()`, in the background (`Deps.in_background`): Bolt answers Slack
as soon as a listener returns (bot/app.py builds it with `process_before_response`), so an acknowledgement never
waits on the work it acknowledged, and none polls for it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext

from handlers.core import blocks, cards, form_start, intake
from handlers.core.bounds import InputRules, ParseError, as_typed
from handlers.core.interaction import Deps, Interaction
from handlers.core.parsing import Family
from handlers.core.workspaces import request_team
from services import registry
from services.intake import Ticket
from services.registry import CardButton

#: What a click does, given who clicked (and where) and the button's value.
ClickHandler = Callable[[Interaction, str], Awaitable[None]]
#: What a message shortcut does with the message it was used on.
ShortcutHandler = Callable[[Interaction, dict[str, Any]], Awaitable[None]]
Work = Callable[[Interaction], Awaitable[None]]


@dataclass(frozen=True)
class Submission:
    """A submitted form, read: the fields in error (block id -> message), or the work it asks for, the command
    that asks for the same (given back with a failure) and the channel it was opened in."""

    work: Work
    typed: str
    channel_id: str
    errors: dict[str, str] = field(default_factory=dict)
    #: The field a failure to take the form is shown under (the form stays open with it).
    error_block: str = "provider"


_UNAVAILABLE = "Cohost could not take this just now (its database did not answer). Please submit it again."

#: Reads a submitted view's state into a Submission, under the deployment's input rules.
FormReader = Callable[[dict[str, Any], InputRules], Submission]


async def _act(
    deps: Deps,
    context: AsyncBoltContext,
    body: dict[str, Any],
    work: Work,
    *,
    typed: str | None = None,
    channel_id: str | None = None,
    help_hint: blocks.Mrkdwn | None = None,
) -> None:
    """After the ack: claimed once, then the work, guarded."""
    await deps.acks.turn()
    if not await deps.first_delivery(request_team(context), body):
        return
    ix = Interaction.of(deps, context, body, typed=typed, channel_id=channel_id)
    await ix.guarded(lambda: work(ix), help_hint=help_hint)


async def _take(
    deps: Deps,
    context: AsyncBoltContext,
    body: dict[str, Any],
    ticket: Ticket,
    work: Work,
    *,
    typed: str,
    channel_id: str | None = None,
    help_hint: blocks.Mrkdwn | None = None,
) -> None:
    """After the ack of a recorded command: the work, guarded, then its outcome recorded."""
    await deps.acks.turn()
    ix = Interaction.of(deps, context, body, typed=typed, channel_id=channel_id, intake=ticket)
    await intake.run(ix, lambda: work(ix), help_hint=help_hint)


def command(app: AsyncApp, deps: Deps, family: Family) -> None:
    """The family's slash command, its text read by the family's grammar table."""
    help_hint = blocks.Mrkdwn("{} lists what it can do.").format(blocks.code(f"{family.command} help"))

    async def on_command(ack: AsyncAck, command: dict[str, Any], context: AsyncBoltContext) -> None:
        text = str(command.get("text") or "")
        typed = f"{family.command} {as_typed(text)}".strip()
        try:
            parsed = family.parse(text, deps.input_rules)
        except ParseError as exc:
            answer = blocks.usage_error_text(exc.message, exc.usage, typed, help_hint)
            await ack(text=answer if exc.usage else answer + blocks.Mrkdwn("\n\n") + family.help_text())
            return
        if parsed is None:
            await ack(text=family.help_text())
            return
        channel_id = str(command.get("channel_id") or "")
        try:
            ticket = await intake.receive(
                deps, context, command, typed=typed, channel_id=channel_id, response_url=command.get("response_url")
            )
        except intake.IntakeUnavailable:
            await ack(text=intake.unavailable_text(typed))
            return
        await ack()
        if ticket is not None:  # None: a redelivery of a command already taken
            deps.in_background(_take(deps, context, command, ticket, parsed.run, typed=typed, help_hint=help_hint))

    app.command(family.command)(on_command)


def click(app: AsyncApp, deps: Deps, action_id: str, handler: ClickHandler) -> None:
    """A button: its handler gets the button's value."""

    async def on_click(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], context: AsyncBoltContext) -> None:
        await ack()
        value = str(action.get("value", ""))
        deps.in_background(_act(deps, context, body, lambda ix: handler(ix, value)))

    app.action(action_id)(on_click)


def url_button(app: AsyncApp, action_id: str) -> None:
    """A URL button opens its link in the browser; Slack still expects the click acknowledged."""

    async def on_open(ack: AsyncAck) -> None:
        await ack()

    app.action(action_id)(on_open)


def form(app: AsyncApp, deps: Deps, callback_id: str, read: FormReader) -> None:
    """A form's submission: fields in error keep the form open with the errors; otherwise it closes and its work
    runs in the channel the form was opened from."""

    async def on_submit(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext) -> None:
        submission = read(view, deps.input_rules)
        if submission.errors:
            await ack(response_action="errors", errors=submission.errors)
            return
        try:
            ticket = await intake.receive(
                deps, context, body, typed=submission.typed, channel_id=submission.channel_id, response_url=None
            )
        except intake.IntakeUnavailable:
            # The form stays open with the reason, so nothing typed into it is lost.
            await ack(response_action="errors", errors={submission.error_block: _UNAVAILABLE})
            return
        await ack()
        if ticket is not None:  # None: a redelivery of a form already taken
            deps.in_background(
                _take(
                    deps,
                    context,
                    body,
                    ticket,
                    submission.work,
                    typed=submission.typed,
                    channel_id=submission.channel_id,
                )
            )

    app.view(callback_id)(on_submit)


def message_shortcut(app: AsyncApp, deps: Deps, callback_id: str, handler: ShortcutHandler) -> None:
    """A message shortcut: acknowledged at once; its work (however long) runs after."""

    async def on_shortcut(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext) -> None:
        await ack()
        message: dict[str, Any] = body.get("message") or {}
        deps.in_background(_act(deps, context, body, lambda ix: handler(ix, message)))

    app.message_shortcut(callback_id)(on_shortcut)


def global_shortcut(app: AsyncApp, deps: Deps, callback_id: str, work: Work) -> None:
    """A global shortcut: acknowledged at once, then claimed once (its trigger), then its work. Slack sends no
    channel and no response_url with one, so its work is mostly a form opened with the trigger_id (good for 3 s),
    and anything said to the person goes by direct message."""

    async def on_shortcut(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext) -> None:
        await ack()
        deps.in_background(_act(deps, context, body, work))

    app.global_shortcut(callback_id)(on_shortcut)


@dataclass(frozen=True)
class NewForm:
    """A family's new-session form: `/x new` with nothing after it opens it for its channel; the global shortcut
    `shortcut`, and the App Home's button `home_button`, open it anywhere (it then asks for the channel)."""

    callback_id: str
    view: form_start.FormView
    read: FormReader
    shortcut: str
    home_button: str


@dataclass(frozen=True)
class FamilyListeners:
    """What a family answers, for `register`: `key` is its name in the vendor registry (`cobrowse`)."""

    key: str
    command: Family
    #: What its cards' buttons do, End aside: every family's End is the card lifecycle's (`cards.end_clicked`).
    clicks: Mapping[CardButton, ClickHandler] = field(default_factory=dict)
    form: NewForm | None = None
    #: Message shortcuts, by callback id.
    message_shortcuts: Mapping[str, ShortcutHandler] = field(default_factory=dict)

    def click_handlers(self) -> dict[CardButton, ClickHandler]:
        """A handler for every button the registry puts on the family's cards."""
        handlers = dict(self.clicks)
        if registry.with_button(self.key, CardButton.END):
            handlers[CardButton.END] = lambda ix, value: cards.end_clicked(ix, self.key, value)
        for vendor in registry.family_vendors(self.key):
            missing = [button for button in vendor.buttons if button not in handlers]
            if missing:
                raise TypeError(f"{vendor.name} cards carry {missing}, which the {self.key} family does not answer")
        return handlers


def register(app: AsyncApp, deps: Deps, family: FamilyListeners) -> None:
    """Wires everything a family answers: its command, its cards' buttons, its form and its shortcuts."""
    command(app, deps, family.command)
    for button, handler in family.click_handlers().items():
        click(app, deps, cards.action_id(family.key, button), handler)
    if family.form is not None:
        new_form = family.form
        form(app, deps, new_form.callback_id, new_form.read)

        async def open_anywhere(ix: Interaction) -> None:
            await form_start.open_form(ix, family.key, new_form.view, None)

        global_shortcut(app, deps, new_form.shortcut, open_anywhere)
        click(app, deps, new_form.home_button, lambda ix, _value: open_anywhere(ix))
    for callback_id, on_message in family.message_shortcuts.items():
        message_shortcut(app, deps, callback_id, on_message)
