"""The App Home on its own: a pure function from what a person has to the blocks of their Home tab."""

from __future__ import annotations

from datetime import UTC, datetime

from handlers.core.blocks import card_blocks
from handlers.core.cards import card_of
from handlers.home.views import (
    DIGEST_OFF,
    HomeData,
    HomeDigest,
    HomeSession,
    VendorState,
    home_blocks,
    read_digest_value,
)
from sandbox.slack import MAX_HOME_BLOCKS, home_blocks_problem
from services.registry import COVIU, MIRRORTAB
from tests.messages import actions_of, lines_of

ANN = "U0ANN"
NOON = datetime(2026, 11, 23, 12, tzinfo=UTC)
SNEAKY = "<!channel> <@U0EVE> <https://evil.example|bank>"
SNEAKY_SHOWN = "&lt;!channel&gt; &lt;@U0EVE&gt; &lt;https://evil.example|bank&gt;"


def session(card_id: int, name: str = "Demo", *, entry: object = MIRRORTAB) -> HomeSession:
    card = card_of(
        entry,  # type: ignore[arg-type]
        f"s-{card_id}",
        name=name,
        creator_id=ANN,
        join_url=f"https://go.example/s-{card_id}",
        expires_at=NOON,
    )
    return HomeSession(card_id, card, "C0GENERAL")


def digest(
    channel: str = "C0GENERAL", *, can_turn_off: bool = True, schedule: str = "Daily at 09:00 UTC"
) -> HomeDigest:
    return HomeDigest(channel, "cobrowse", "Co-browsing", schedule, NOON, can_turn_off)


def a_home(**changes: object) -> HomeData:
    fields: dict[str, object] = {"user_id": ANN, "live": [session(1)], "upcoming": [], "digests": [digest()]}
    return HomeData(**{**fields, **changes})  # type: ignore[arg-type]


def test_a_session_shows_the_cards_facts_and_the_cards_own_buttons() -> None:
    shown = session(7, entry=COVIU)
    blocks = home_blocks(a_home(live=[shown]))
    card = card_blocks(shown.card)
    ours = [b for b in actions_of({"blocks": blocks}) if b["action_id"].startswith("meeting_")]
    assert ours == [b for b in actions_of({"blocks": card}) if b["action_id"].startswith("meeting_")]
    assert [b["action_id"] for b in ours] == ["meeting_my_link", "meeting_end"]
    assert all(b["value"] == "coviu:s-7" for b in ours)
    text = "\n".join(lines_of(blocks))
    assert "*Demo*" in text and "`s-7`" in text and "<#C0GENERAL>" in text and "<!date^" in text


def test_names_and_schedules_are_text_never_markup() -> None:
    blocks = home_blocks(a_home(live=[session(1, SNEAKY)], digests=[digest(schedule=SNEAKY)]))
    text = "\n".join(lines_of(blocks))
    assert SNEAKY not in text and text.count(SNEAKY_SHOWN) == 2


def test_turn_off_only_where_the_person_may_and_it_names_the_subscription() -> None:
    mine, theirs = digest("C0MINE"), digest("C0THEIRS", can_turn_off=False)
    blocks = home_blocks(a_home(digests=[mine, theirs]))
    offs = [b["accessory"] for b in blocks if "accessory" in b]
    assert [(o["action_id"], read_digest_value(o["value"])) for o in offs] == [(DIGEST_OFF, ("C0MINE", "cobrowse"))]


def test_vendors_show_for_admins_alone_on_off_or_failing() -> None:
    assert "Vendors (admins only)" not in str(home_blocks(a_home()))
    states = [
        VendorState("MirrorTab", []),
        VendorState("SameSurf", ["SAMESURF_API_KEY", "SAMESURF_API_SECRET"]),
        VendorState("Coviu", [], "Coviu could not be reached"),
    ]
    text = "\n".join(lines_of(home_blocks(a_home(vendors=states))))
    assert ":large_green_circle: *MirrorTab* on" in text
    assert "*SameSurf* off: set `SAMESURF_API_KEY`, `SAMESURF_API_SECRET` to turn it on." in text
    assert ":red_circle: *Coviu* failing: Coviu could not be reached" in text


def test_however_much_a_person_has_the_home_stays_within_slacks_limits() -> None:
    live, upcoming = [session(i, "N" * 150) for i in range(60)], [session(100 + i, "N" * 150) for i in range(60)]
    vendors = [VendorState(f"V{i}", ["A_KEY"]) for i in range(5)]
    data = a_home(live=live, upcoming=upcoming, digests=[digest(f"C{i}") for i in range(40)], vendors=vendors)
    blocks = home_blocks(data)
    assert len(blocks) <= MAX_HOME_BLOCKS and home_blocks_problem(blocks) is None
    text = "\n".join(lines_of(blocks))
    assert text.count("… and more") == 3


def test_nothing_yet_says_so() -> None:
    text = "\n".join(lines_of(home_blocks(a_home(live=[], digests=[]))))
    assert "Nothing of yours is live" in text and "Nothing scheduled." in text and "No digests." in text
