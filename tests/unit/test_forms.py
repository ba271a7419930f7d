"""The new-session forms on their own (pure): each is a modal Slack takes, carries a channel picker only where no
channel is known (a global shortcut, the App Home), and is read back under the command's bounds; and the Slack
stand-in's own rules for modals and for what its client submits, which the end-to-end tests lean on."""

from __future__ import annotations

from typing import Any

import pytest

from handlers.cobrowse.actions import read_form as read_cobrowse_form
from handlers.cobrowse.views import new_session_view
from handlers.core.bounds import STRICT
from handlers.meeting.form import read_form as read_meeting_form
from handlers.meeting.views import new_meeting_view
from sandbox.slack import form_state, modal_problems

COBROWSE, MEETINGS = ["mirrortab", "samesurf"], ["mirotalk", "coviu"]
FORMS = {
    "cobrowse from the command": new_session_view("C0GENERAL", COBROWSE, "mirrortab"),
    "cobrowse from a shortcut": new_session_view(None, COBROWSE, "mirrortab"),
    "meeting from the command": new_meeting_view("C0GENERAL", MEETINGS, "mirotalk"),
    "meeting from a shortcut": new_meeting_view(None, MEETINGS, "mirotalk"),
}


def submitted(view: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
    return {**view, "state": {"values": form_state(view, answers)}}


@pytest.mark.parametrize("kind", FORMS)
def test_every_form_is_a_modal_slack_takes_with_a_channel_picker_only_where_no_channel_is_known(kind: str) -> None:
    view = FORMS[kind]
    assert modal_problems(view) == []
    pickers = [b for b in view["blocks"] if b.get("block_id") == "channel"]
    if "shortcut" in kind:
        (picker,) = pickers
        assert picker["element"]["type"] == "conversations_select" and not picker["optional"]
        assert "pick" in str(view["blocks"][-1]) and "channel_id" not in view["private_metadata"]
    else:
        assert not pickers and '"channel_id": "C0GENERAL"' in view["private_metadata"]


def test_a_shortcut_form_sends_its_card_to_the_picked_channel() -> None:
    view = FORMS["cobrowse from a shortcut"]
    submission = read_cobrowse_form(submitted(view, {"channel": "C0SALES", "urls": "https://a.example"}), STRICT)
    assert (submission.channel_id, submission.errors) == ("C0SALES", {})
    assert submission.typed == "/cobrowse new https://a.example --provider mirrortab"


def test_a_shortcut_form_without_a_channel_is_answered_on_the_picker() -> None:
    # Slack's client requires the picker; a request without it is still refused in the form.
    view = {**FORMS["meeting from a shortcut"], "state": {"values": {}}}
    assert read_meeting_form(view, STRICT).errors == {"channel": "Pick the channel the card goes to."}


@pytest.mark.parametrize(
    ("answers", "errors"),
    [
        ({"provider": "coviu", "room": "standup"}, {"room"}),
        ({"minutes": "0"}, {"minutes"}),
        ({"minutes": "10081"}, {"minutes"}),
        ({"name": "x" * 151}, {"name"}),
        ({"name": "bad\u202ename"}, {"name"}),
        ({"provider": "mirotalk", "room": "standup", "minutes": "5999", "name": "Fine"}, set()),
        # MiroTalk's links carry a meeting's length as HH:MM:SS: 99 hours 59 minutes at most.
        ({"provider": "mirotalk", "minutes": "6000"}, {"minutes"}),
        ({"provider": "coviu", "minutes": "10080", "name": "Fine"}, set()),
    ],
)
def test_the_meeting_form_is_held_to_the_commands_bounds_field_by_field(
    answers: dict[str, str], errors: set[str]
) -> None:
    view = FORMS["meeting from the command"]
    state = {
        block: {block: {"type": "plain_text_input", "value": value}}
        if block != "provider"
        else {block: {"type": "static_select", "selected_option": {"value": value}}}
        for block, value in answers.items()
    }
    assert set(read_meeting_form({**view, "state": {"values": state}}, STRICT).errors) == errors


def test_the_stand_in_refuses_what_slack_refuses_in_a_modal() -> None:
    good = FORMS["meeting from a shortcut"]
    assert modal_problems({**good, "title": {"type": "plain_text", "text": "x" * 25}})
    assert modal_problems({**good, "blocks": [{"type": "divider"}] * 101})
    assert modal_problems({**good, "callback_id": "x" * 256})
    assert modal_problems({**good, "private_metadata": "x" * 3001})
    assert modal_problems({key: value for key, value in good.items() if key != "submit"})  # inputs need submit
    assert modal_problems({**good, "type": "home"})
    picker = {**good["blocks"][0], "element": {**good["blocks"][0]["element"], "filter": {"include": []}}}
    assert modal_problems({**good, "blocks": [picker, *good["blocks"][1:]]})


def test_the_stand_ins_client_submits_each_input_in_slacks_shape_and_only_what_slack_would() -> None:
    view = FORMS["meeting from a shortcut"]
    state = form_state(view, {"channel": "C0SALES", "invitees": ["U0BOB"], "minutes": "30"})
    assert state["channel"]["channel"] == {"type": "conversations_select", "selected_conversation": "C0SALES"}
    assert state["invitees"]["invitees"] == {"type": "multi_users_select", "selected_users": ["U0BOB"]}
    assert state["minutes"]["minutes"] == {"type": "number_input", "value": "30"}
    assert state["provider"]["provider"]["selected_option"]["value"] == "mirotalk"  # the initial option, unchanged
    assert state["room"]["room"] == {"type": "plain_text_input", "value": None}
    refused = [
        ({}, "channel is required"),
        ({"channel": "C0SALES", "minutes": "0"}, "out of the number input's bounds"),
        ({"channel": "C0SALES", "provider": "zoom"}, "not one of its options"),
        ({"channel": "C0SALES", "colour": "red"}, "no input"),
    ]
    for answers, why in refused:
        with pytest.raises(ValueError, match=why):
            form_state(view, answers)
