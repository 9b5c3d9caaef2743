"""The sessions overview: many numbers at once cost one look at the lanes' holders."""

from __future__ import annotations

from adapters.contacts_memory import POPOContactsView
from adapters.leases import InProcessLaneLeases
from app.campaigns import CampaignsApp
from app.ports import LaneHolder
from app.session_settings import SessionSettingsBook
from app.sessions import SessionsOverview, WahaSaid
from domain.session import SessionName
from tests.fakes.system import ManualClock


class CountingLeases(InProcessLaneLeases):
    """Leases that count how often their holders are listed (each listing reads every lock)."""

    def __init__(self) -> None:
        super().__init__()
        self.listed = 0

    def holders(self) -> list[LaneHolder]:
        self.listed += 1
        return super().holders()


def test_many_sessions_are_shown_with_one_look_at_the_lanes(
    campaigns: CampaignsApp, clock: ManualClock
) -> None:
    leases = CountingLeases()
    leases.acquire(SessionName("alpha"), "host:1")
    leases.acquire(SessionName("gamma"), "host:2")
    overview = SessionsOverview(
        SessionSettingsBook(campaigns, clock), POPOContactsView(), leases, clock
    )
    names = [SessionName(n) for n in ("alpha", "beta", "gamma")]

    views = overview.views([(n, WahaSaid("WORKING", "")) for n in names], [])

    assert leases.listed == 1
    assert [v.session for v in views] == ["alpha", "beta", "gamma"]
    assert [None if v.lane is None else v.lane["owner"] for v in views] == [
        "host:1",
        None,
        "host:2",
    ]
    one = overview.view(SessionName("gamma"), WahaSaid(None, "x"), [])
    assert (one.session, one.waha_status, one.lane) == ("gamma", None, views[2].lane)
