"""The views on their own: Block Kit rendering is pure, from data to blocks, so what a card, a closed card, a live
list, a digest and a warning show is checked here without a bot, a socket or a clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from handlers.cobrowse import views as cobrowse_views
from handlers.core.blocks import (
    MAX_ROWS,
    Block,
    Button,
    CardSession,
    ClosedCard,
    LiveRow,
    LiveSection,
    Mrkdwn,
    SessionCard,
    card_blocks,
    card_text,
    closed_card_blocks,
    closed_card_text,
    unreadable_note,
)
from handlers.core.live import live_blocks
from handlers.digest import views as digest_views
from handlers.digest.views import Digest, Period, VendorPart
from handlers.meeting import views as meeting_views
from handlers.scheduled import notices as scheduled
from services.mirrortab import MirrorTabSession
from services.samesurf import AnalyticsRoom
from services.store import Card
from tests.messages import lines_of

ANN, BOB = "U0ANN", "U0BOB"
NOON = datetime(2026, 11, 23, 12, tzinfo=UTC)
#: How Slack is asked to show NOON: in each reader's own zone, "2026-11-23 12:00 UTC" where it cannot.
NOON_SHOWN = f"<!date^{int(NOON.timestamp())}^{{date_short_pretty}} at {{time}}|2026-11-23 12:00 UTC>"
#: Text a person could type that Slack would otherwise read as a broadcast, a mention and a disguised link.
SNEAKY = "<!channel> <@U0EVE> <https://evil.example|bank>"
SNEAKY_SHOWN = "&lt;!channel&gt; &lt;@U0EVE&gt; &lt;https://evil.example|bank&gt;"


def types_of(blocks: list[Block]) -> list[str]:
    return [block["type"] for block in blocks]


def buttons_in(blocks: list[Block]) -> list[Block]:
    return [element for block in blocks if block["type"] == "actions" for element in block["elements"]]


DEMO = CardSession(name="Demo", vendor="MirrorTab", id_label="Session", vendor_id="s-1", creator_id=ANN)


def a_card(**changes: object) -> SessionCard:
    fields: dict[str, object] = {"session": DEMO, "join_url": "https://go.example/s-1"}
    return SessionCard(**{**fields, **changes})  # type: ignore[arg-type]


# -- a session's card -------------------------------------------------------------------------------------------------


def test_a_card_shows_its_name_vendor_id_times_and_creator_with_join_first_among_its_buttons() -> None:
    end = Button("cobrowse_end", "End", value="s-1", style="danger", confirm=Mrkdwn("Sure?"))
    card = a_card(code="4821", expires_at=NOON, buttons=[end], note=Mrkdwn("A note."))
    blocks = card_blocks(card)
    assert types_of(blocks) == ["header", "section", "actions", "context"]
    assert lines_of(blocks) == [
        "Demo",
        "*Vendor*\nMirrorTab",
        "*Session*\n`s-1`",
        "*Join code*\n`4821`",
        f"*Expires*\n{NOON_SHOWN}",
        f"*Started by*\n<@{ANN}>",
        "Join",
        "End",
        "A note.",
    ]
    join, end_button = buttons_in(blocks)
    assert join["url"] == "https://go.example/s-1" and join["style"] == "primary"
    assert end_button["value"] == "s-1" and end_button["style"] == "danger"
    assert end_button["confirm"]["confirm"]["text"] == "End"  # the dialog's button says what it does
    assert card_text(card) == f"MirrorTab session “Demo” started by <@{ANN}>"


def test_a_card_without_a_web_link_has_no_join_button_and_no_actions_when_nothing_else() -> None:
    for join_url in (None, "javascript:alert(1)", "https://a.example/with space", "ftp://files.example/x"):
        blocks = card_blocks(a_card(join_url=join_url))
        assert "actions" not in types_of(blocks), join_url


def test_a_card_takes_what_people_named_as_text() -> None:
    card = a_card(session=replace(DEMO, name=SNEAKY, vendor_id="s-`1`"))
    blocks = card_blocks(card)
    assert blocks[0]["text"] == {"type": "plain_text", "text": SNEAKY, "emoji": True}  # shown literally
    assert "*Session*\n`s-'1'`" in lines_of(blocks)  # a backtick would end the code style early
    assert SNEAKY_SHOWN in card_text(card) and "<!channel>" not in card_text(card)


def test_a_scheduled_card_shows_when_it_starts_and_ends() -> None:
    blocks = card_blocks(a_card(starts_at=NOON, expires_at=NOON + timedelta(hours=1)))
    shown = lines_of(blocks)
    assert shown[3] == f"*Starts*\n{NOON_SHOWN}" and shown[4].startswith("*Expires*\n<!date^")


def test_meeting_cards_carry_get_my_link_and_end_unless_the_server_cannot_end() -> None:
    can_end = meeting_views.mirotalk_card(
        name="Standup", room="standup", link="https://meet.example/join/standup", creator_id=ANN, can_end=True
    )
    cannot = meeting_views.mirotalk_card(
        name="Standup", room="standup", link="https://meet.example/join/standup", creator_id=ANN, can_end=False
    )
    assert [b["text"]["text"] for b in buttons_in(card_blocks(can_end))] == ["Join", "Get my link", "End"]
    assert [b["text"]["text"] for b in buttons_in(card_blocks(cannot))] == ["Join", "Get my link"]
    assert "does not let Cohost end meetings" in lines_of(card_blocks(cannot))[-1]
    coviu = meeting_views.coviu_card(name="Review", session_id="cv-1", creator_id=ANN, starts_at=None, ends_at=None)
    # Coviu: no shared Join button, everyone enters by their own link; times it did not give are said so.
    assert [b["text"]["text"] for b in buttons_in(card_blocks(coviu))] == ["Get my link", "End"]
    assert "Coviu did not say when it runs." in lines_of(card_blocks(coviu))[-1]


# -- a closed card --------------------------------------------------------------------------------------------------


def closed(state: str, ended_by: str | None = None) -> ClosedCard:
    return ClosedCard(DEMO, state=state, minutes=12, ended_by=ended_by)


def test_a_closed_card_says_who_ended_it_and_after_how_long_with_no_buttons_and_no_link() -> None:
    blocks = closed_card_blocks(closed("ended", ended_by=BOB))
    assert types_of(blocks) == ["header", "section", "context"]
    assert lines_of(blocks) == [
        "Demo",
        f":checkered_flag: Ended by <@{BOB}> · 12 min",
        f"MirrorTab session `s-1` · started by <@{ANN}>",
    ]
    assert "http" not in str(blocks)
    assert closed_card_text(closed("ended", ended_by=BOB)) == "MirrorTab session “Demo”: ended, 12 min"


def test_a_card_ended_elsewhere_or_expired_says_so() -> None:
    assert lines_of(closed_card_blocks(closed("ended")))[1] == ":checkered_flag: Ended · 12 min"
    assert lines_of(closed_card_blocks(closed("expired")))[1] == ":hourglass: Expired · 12 min"
    assert closed_card_text(closed("expired")).endswith(": expired, 12 min")


# -- live lists -----------------------------------------------------------------------------------------------------


def test_a_live_list_shows_each_vendor_its_rows_and_a_failed_vendor_named_in_place() -> None:
    rows = [
        LiveRow("s-1", "Demo", join_url="https://go.example/s-1", code="4821", expires_at=NOON),
        LiveRow("room-9", ""),  # started outside Cohost: the id alone
    ]
    blocks = live_blocks(
        [
            LiveSection("MirrorTab", rows),
            LiveSection("SameSurf", error="SameSurf refused Cohost's credentials"),
            LiveSection("Coviu"),
        ]
    )
    assert lines_of(blocks) == [
        "MirrorTab: 2 live",
        f"*Demo* `s-1` · code `4821` · until {NOON_SHOWN} · <https://go.example/s-1|join>",
        "`room-9`",
        "SameSurf",
        ":warning: SameSurf refused Cohost's credentials",
        "Coviu: 0 live",
        "Nothing running.",
    ]


def test_a_long_live_list_stops_at_its_limit_and_counts_the_rest_and_the_rows_it_could_not_read() -> None:
    rows = [LiveRow(f"s-{i}", f"Session {i}") for i in range(MAX_ROWS + 5)]
    blocks = live_blocks([LiveSection("MirrorTab", rows, unreadable=2)])
    shown = lines_of(blocks)
    assert len(blocks) == 1 + MAX_ROWS + 2 <= 50  # within Slack's 50 blocks
    assert shown[-2] == "… and 5 more."
    assert shown[-1] == ":grey_question: 2 rows MirrorTab sent could not be read, so they are not shown."


def test_a_live_row_takes_a_vendors_text_as_text() -> None:
    blocks = live_blocks([LiveSection("MiroTalk", [LiveRow("r-1", SNEAKY, detail="<!here>")])])
    assert lines_of(blocks)[1] == f"*{SNEAKY_SHOWN}* `r-1` · &lt;!here&gt;"


# -- digests --------------------------------------------------------------------------------------------------------

PERIOD = Period(NOON - timedelta(days=1), NOON, "daily", "Europe/London")


def test_a_digest_has_its_title_period_each_vendors_part_and_what_cohost_started() -> None:
    digest = Digest(
        "cobrowse",
        PERIOD,
        [
            digest_views.mirrortab_part([]),
            VendorPart("SameSurf", [], unreadable=1),
        ],
        own_counts={"MirrorTab": 3},
    )
    blocks = digest_views.digest_blocks(digest)
    shown = lines_of(blocks)
    assert shown[0] == "Co-browsing digest · daily"
    assert shown[1].startswith("From <!date^") and f"to {NOON_SHOWN}" in shown[1]
    assert shown[2:] == [
        "*MirrorTab*",
        "*Live sessions now* (0)",
        "None.",
        "*SameSurf*",
        ":grey_question: 1 row SameSurf sent could not be read, so it is not shown.",
        "Started through Cohost in this channel in this period: MirrorTab 3",
    ]
    assert types_of(blocks).count("divider") == 3  # between the period and each part, and before the counts
    assert digest_views.digest_text(digest) == "Co-browsing digest · daily"


def test_a_vendor_that_failed_is_named_in_the_digest_and_in_its_notification_and_the_rest_still_shows() -> None:
    digest = Digest(
        "meeting",
        PERIOD,
        [digest_views.failed_part("MiroTalk", "MiroTalk could not be reached"), VendorPart("Coviu", [])],
    )
    shown = lines_of(digest_views.digest_blocks(digest))
    assert ":warning: *MiroTalk* is missing from this digest: MiroTalk could not be reached" in shown
    assert "*Coviu*" in shown
    assert digest_views.digest_text(digest) == "Meetings digest · daily (missing: MiroTalk)"


def test_a_digest_keeps_within_slacks_fifty_blocks_whatever_its_parts() -> None:
    parts = [VendorPart(f"Vendor {i}", [{"type": "divider"}] * 10) for i in range(10)]
    blocks = digest_views.digest_blocks(Digest("upload", PERIOD, parts))
    assert len(blocks) == 50 and lines_of(blocks)[-1] == "(shortened to fit one message)"


def test_a_digests_list_stops_at_fifteen_lines_and_counts_the_rest_with_no_join_link_or_code() -> None:
    sessions = [
        MirrorTabSession(session_id=f"s-{i}", session_name=f"Session {i}", go_url="https://go.example", gocode="1")
        for i in range(20)
    ]
    shown = lines_of(list(digest_views.mirrortab_part(sessions).blocks))
    assert shown[0] == "*Live sessions now* (20)"
    listed = shown[1].split("\n")
    assert len(listed) == 15 and listed[0] == "Session 0 `s-0` · until unknown"
    assert shown[2] == "… and 5 more."
    # A digest may reach another channel than the one the session was shared in: no way in.
    assert "go.example" not in str(shown) and "code" not in str(shown)


def test_a_workspaces_own_rooms_page_on_and_say_where_the_search_through_the_shared_account_stopped() -> None:
    rooms = [AnalyticsRoom(room=f"40{i}", title=f"Room {i}", date=NOON, duration=90) for i in range(2)]
    more = lines_of(cobrowse_views.own_rooms_blocks(rooms, 2, 0, more=True, searched=None))
    assert more[0] == "SameSurf rooms started in this workspace" and more[1].startswith("*Room 0* `400`")
    assert more[-1] == "Rooms 3–4. Next page: `/cobrowse rooms --skip 4`"
    last = lines_of(cobrowse_views.own_rooms_blocks([], 0, 1, more=False, searched=500))
    assert last[1:] == [
        "No rooms started in this workspace.",
        str(unreadable_note(1, "SameSurf", "room")),
        "Only the account's 500 newest rooms were looked through.",
    ]


# -- warnings and reminders -----------------------------------------------------------------------------------------


def a_stored_card(vendor: str, family: str, **changes: object) -> Card:
    fields: dict[str, object] = {
        "id": 7,
        "team_id": "T0HOME",
        "channel_id": "C0GENERAL",
        "ts": "1.000100",
        "family": family,
        "vendor": vendor,
        "vendor_id": "s-1",
        "name": "Demo",
        "creator_id": ANN,
        "created_at": NOON - timedelta(minutes=25),
        "expires_at": NOON,
        "state": "active",
    }
    return Card(**{**fields, **changes})


def test_a_warning_names_the_creator_the_session_and_its_end_with_an_end_now_button() -> None:
    blocks = scheduled.warning_blocks(a_stored_card("mirrortab", "cobrowse"))
    assert lines_of(blocks) == [
        f":hourglass_flowing_sand: <@{ANN}> MirrorTab session “Demo” ends {NOON_SHOWN}.",
        "End now",
    ]
    (end,) = buttons_in(blocks)
    assert end["style"] == "danger" and "confirm" in end and end["value"] == "s-1"


def test_a_warning_without_an_end_button_says_how_the_session_ends_instead() -> None:
    samesurf = scheduled.warning_blocks(a_stored_card("samesurf", "cobrowse"))
    assert lines_of(samesurf)[-1] == "SameSurf rooms end when everyone has left." and not buttons_in(samesurf)
    mirotalk = scheduled.warning_blocks(a_stored_card("mirotalk", "meeting"), can_end=False)
    assert "does not let Cohost end meetings" in lines_of(mirotalk)[-1] and not buttons_in(mirotalk)
    assert [b["text"]["text"] for b in buttons_in(scheduled.warning_blocks(a_stored_card("mirotalk", "meeting")))] == [
        "End now"
    ]


def test_a_reminder_names_the_session_and_when_it_starts_with_join_and_get_my_link() -> None:
    card = a_stored_card("mirotalk", "meeting", starts_at=NOON, join_url="https://meet.example/join/standup")
    blocks = scheduled.reminder_blocks(card)
    assert lines_of(blocks) == [f":alarm_clock: MiroTalk room “Demo” starts {NOON_SHOWN}.", "Join", "Get my link"]
    no_link = scheduled.reminder_blocks(a_stored_card("samesurf", "cobrowse", starts_at=NOON))
    assert types_of(no_link) == ["section"]  # nothing to click: no actions block at all
