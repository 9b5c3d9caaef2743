"""One WahaGateway contract, run on FakeWahaGateway and on AiohttpWahaGateway -> the simulator.

The unit tests trust the fake; this suite is why they may. Each behaviour is stated once, in
`WahaGatewayContract`, against a `World`: the gateway under test and the WAHA behind it. A
subclass per implementation provides the `world` fixture. Where the fake fails a behaviour the
simulator passes, the fake is what gets fixed.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import aiohttp
import pytest
from pytest_aiohttp import AiohttpServer

from adapters.waha.client import AiohttpWahaGateway
from adapters.waha.wire import RECENT_MESSAGES_LIMIT
from adapters.waha_simulator import (
    SIMULATOR_KEY,
    SimulatorConfig,
    WahaSimulator,
    make_simulator_app,
)
from app.ports import (
    UNTIL_FURTHER_NOTICE,
    AccountLimits,
    GatewayRejectedError,
    ImagePayload,
    MediaKind,
    MediaPayload,
    MessageIdsUnsupportedError,
    WahaGateway,
)
from domain.contacts import ChatId
from domain.session import SessionName
from tests.fakes.gateway import FakeWahaGateway
from tests.fakes.system import InstantSleeper, ManualClock

SESSION = SessionName("default")
OTHER_SESSION = SessionName("second")
PHONE = "5511987654321"
CHAT = ChatId(f"{PHONE}@c.us")
OTHER_CHAT = ChatId("5511912345678@c.us")
PNG = b"\x89PNG\r\n\x1a\n not really"
IMAGE = ImagePayload(PNG, "image/png", "offer.png")
OUR_ID = "3EB0C0FFEE0123456789AB"
MEDIA = {
    MediaKind.IMAGE: MediaPayload(PNG, "image/png", "offer.png", MediaKind.IMAGE),
    MediaKind.DOCUMENT: MediaPayload(
        b"%PDF-1.4", "application/pdf", "offer.pdf", MediaKind.DOCUMENT
    ),
    MediaKind.VIDEO: MediaPayload(
        b"\x00\x00\x00\x18ftypmp42", "video/mp4", "a.mp4", MediaKind.VIDEO
    ),
    MediaKind.VOICE: MediaPayload(b"OggS", "audio/ogg; codecs=opus", "a.ogg", MediaKind.VOICE),
}
# Unix seconds for 2026-12-01 00:00:00 UTC, when a limit ends.
LIMIT_ENDS = 1_796_083_200
# 0.7 s into a second: WAHA's whole-second stamps fall before it.
START = datetime(2026, 11, 28, 12, 0, 0, 700_000, tzinfo=UTC)


@dataclass(frozen=True)
class Accepted:
    """A message the WAHA behind the gateway took: what reached whom."""

    session: str
    chat_id: str
    text: str
    image_sha256: str | None
    kind: str = "text"


class World(Protocol):
    """The gateway under test, the clock both sides read, and the WAHA's state to steer."""

    gateway: WahaGateway
    clock: ManualClock

    def set_status(self, session: str, status: str) -> None: ...

    def forget_session(self, session: str) -> None: ...

    def mark_not_on_whatsapp(self, phone: str) -> None: ...

    def link(self, session: str, lid: str, phone_chat: str) -> None:
        """Let the session know the phone behind a linked id."""

    def accepted(self) -> list[Accepted]: ...

    def support_message_ids(self, supported: bool) -> None: ...

    def limit(self, session: str, *, timelock_ends: int | None, capped_until: int | None) -> None:
        """Make WAHA report a reachout timelock and/or a CAPPED quota ending then (None: not)."""


class WahaGatewayContract:
    """What every WahaGateway does; subclasses provide a `world` fixture (sessions
    `default` and `second` WORKING, the clock at START)."""

    # Session status

    @pytest.mark.parametrize("status", ["WORKING", "STARTING", "SCAN_QR_CODE", "STOPPED"])
    async def test_the_status_is_the_sessions_status_now(self, world: World, status: str) -> None:
        world.set_status(SESSION, status)

        fact = await world.gateway.session_status(SESSION)

        assert (fact.session, fact.status, fact.source, fact.observed_at) == (
            SESSION,
            status,
            "poll",
            START,
        )

    async def test_a_status_waha_adds_later_is_kept_as_given(self, world: World) -> None:
        world.set_status(SESSION, "HIBERNATING")

        assert (await world.gateway.session_status(SESSION)).status == "HIBERNATING"

    async def test_the_status_of_an_unknown_session_is_a_404_rejection(self, world: World) -> None:
        world.forget_session(SESSION)

        with pytest.raises(GatewayRejectedError) as raised:
            await world.gateway.session_status(SESSION)

        assert (raised.value.status, raised.value.session_status) == (404, None)

    # Sending

    async def test_a_sent_text_gives_a_receipt_with_the_message_id(self, world: World) -> None:
        receipt = await world.gateway.send_text(SESSION, CHAT, "Hello Ana")

        assert receipt.chat_id == CHAT
        assert receipt.message_id
        assert world.accepted() == [Accepted(SESSION, CHAT, "Hello Ana", None)]

    async def test_each_send_gets_a_message_id_of_its_own(self, world: World) -> None:
        first = await world.gateway.send_text(SESSION, CHAT, "one")
        second = await world.gateway.send_text(SESSION, CHAT, "one")

        assert first.message_id != second.message_id

    async def test_a_sent_image_gives_a_receipt_and_delivers_its_bytes(self, world: World) -> None:
        receipt = await world.gateway.send_image(SESSION, CHAT, IMAGE, "Our offer")

        assert (receipt.chat_id, bool(receipt.message_id)) == (CHAT, True)
        digest = hashlib.sha256(PNG).hexdigest()
        assert world.accepted() == [Accepted(SESSION, CHAT, "Our offer", digest, "image")]

    @pytest.mark.parametrize("status", ["STARTING", "SCAN_QR_CODE", "FAILED", "HIBERNATING"])
    async def test_a_send_while_not_working_is_a_422_naming_the_status(
        self, world: World, status: str
    ) -> None:
        world.set_status(SESSION, status)

        with pytest.raises(GatewayRejectedError) as raised:
            await world.gateway.send_text(SESSION, CHAT, "hi")

        assert (raised.value.status, raised.value.session_status) == (422, status)
        assert world.accepted() == []

    async def test_an_image_sent_while_not_working_is_a_422_naming_the_status(
        self, world: World
    ) -> None:
        world.set_status(SESSION, "STARTING")

        with pytest.raises(GatewayRejectedError) as raised:
            await world.gateway.send_image(SESSION, CHAT, IMAGE, "")

        assert (raised.value.status, raised.value.session_status) == (422, "STARTING")
        assert world.accepted() == []

    async def test_a_send_on_a_stopped_session_is_a_404(self, world: World) -> None:
        world.set_status(SESSION, "STOPPED")

        with pytest.raises(GatewayRejectedError) as raised:
            await world.gateway.send_text(SESSION, CHAT, "hi")

        assert (raised.value.status, raised.value.session_status) == (404, None)
        assert world.accepted() == []

    async def test_a_send_on_an_unknown_session_is_a_404(self, world: World) -> None:
        world.forget_session(SESSION)

        with pytest.raises(GatewayRejectedError) as raised:
            await world.gateway.send_text(SESSION, CHAT, "hi")

        assert (raised.value.status, raised.value.session_status) == (404, None)
        assert world.accepted() == []

    # Checking numbers

    @pytest.mark.parametrize("phone", [PHONE, f"+{PHONE}"])
    async def test_a_number_on_whatsapp_gives_wahas_chat_id(self, world: World, phone: str) -> None:
        assert await world.gateway.check_exists(SESSION, phone) == CHAT

    async def test_a_number_not_on_whatsapp_gives_none(self, world: World) -> None:
        world.mark_not_on_whatsapp(PHONE)

        assert await world.gateway.check_exists(SESSION, PHONE) is None

    # Linked ids (a person's number hidden behind `…@lid`)

    @pytest.mark.parametrize("asked", ["123456789012345@lid", "123456789012345"])
    async def test_a_known_linked_id_gives_the_phone_s_chat(self, world: World, asked: str) -> None:
        world.link(SESSION, "123456789012345@lid", CHAT)

        assert await world.gateway.phone_of_lid(SESSION, asked) == CHAT

    async def test_an_unknown_linked_id_gives_none(self, world: World) -> None:
        world.link(OTHER_SESSION, "123456789012345@lid", CHAT)  # another session's, not this one's

        assert await world.gateway.phone_of_lid(SESSION, "123456789012345@lid") is None

    async def test_asking_a_linked_id_while_not_working_is_a_422(self, world: World) -> None:
        world.set_status(SESSION, "STARTING")

        with pytest.raises(GatewayRejectedError) as raised:
            await world.gateway.phone_of_lid(SESSION, "123456789012345@lid")

        assert (raised.value.status, raised.value.session_status) == (422, "STARTING")

    async def test_checking_a_number_while_not_working_is_a_422(self, world: World) -> None:
        world.set_status(SESSION, "STARTING")

        with pytest.raises(GatewayRejectedError) as raised:
            await world.gateway.check_exists(SESSION, PHONE)

        assert (raised.value.status, raised.value.session_status) == (422, "STARTING")

    # Finding our own messages again

    async def test_our_message_is_found_from_just_before_it_was_sent(self, world: World) -> None:
        intent_at = world.clock.now()
        world.clock.advance(0.005)
        receipt = await world.gateway.send_text(SESSION, CHAT, "hello")

        found = await world.gateway.recent_own_messages(SESSION, CHAT, intent_at)

        assert [(m.message_id, m.chat_id, m.body) for m in found] == [
            (receipt.message_id, CHAT, "hello")
        ]
        # WAHA stamps whole seconds: 12:00:00.705 is listed as 12:00:00.
        assert found[0].timestamp == START.replace(microsecond=0)

    async def test_an_image_is_found_by_its_caption(self, world: World) -> None:
        receipt = await world.gateway.send_image(SESSION, CHAT, IMAGE, "Our offer")

        found = await world.gateway.recent_own_messages(SESSION, CHAT, START)

        assert [(m.message_id, m.body) for m in found] == [(receipt.message_id, "Our offer")]

    async def test_messages_to_other_chats_or_from_other_sessions_are_not_found(
        self, world: World
    ) -> None:
        await world.gateway.send_text(SESSION, OTHER_CHAT, "not this chat")
        await world.gateway.send_text(OTHER_SESSION, CHAT, "not this session")

        assert await world.gateway.recent_own_messages(SESSION, CHAT, START) == []

    async def test_messages_older_than_the_skew_allowance_are_not_found(self, world: World) -> None:
        await world.gateway.send_text(SESSION, CHAT, "yesterday's")
        world.clock.advance(60)
        newer = await world.gateway.send_text(SESSION, CHAT, "today's")

        found = await world.gateway.recent_own_messages(SESSION, CHAT, world.clock.now())

        assert [m.message_id for m in found] == [newer.message_id]

    @pytest.mark.parametrize(("seconds_before", "found"), [(2, True), (3, False)])
    async def test_a_message_stamped_up_to_two_seconds_before_the_since_second_is_found(
        self, world: World, seconds_before: int, found: bool
    ) -> None:
        await world.gateway.send_text(SESSION, CHAT, "just before")
        since = START.replace(microsecond=0) + timedelta(seconds=seconds_before, microseconds=1)

        listed = await world.gateway.recent_own_messages(SESSION, CHAT, since)

        assert bool(listed) is found

    async def test_our_messages_are_listed_newest_first(self, world: World) -> None:
        first = await world.gateway.send_text(SESSION, CHAT, "first")
        world.clock.advance(1)
        second = await world.gateway.send_text(SESSION, CHAT, "second")

        found = await world.gateway.recent_own_messages(SESSION, CHAT, START)

        assert [m.message_id for m in found] == [second.message_id, first.message_id]

    async def test_at_most_the_newest_hundred_are_listed(self, world: World) -> None:
        for n in range(RECENT_MESSAGES_LIMIT + 1):
            await world.gateway.send_text(SESSION, CHAT, f"message {n}")
            world.clock.advance(1)

        found = await world.gateway.recent_own_messages(SESSION, CHAT, START)

        assert len(found) == RECENT_MESSAGES_LIMIT
        assert found[-1].body == "message 1"

    async def test_looking_up_messages_while_not_working_is_a_422(self, world: World) -> None:
        world.set_status(SESSION, "STARTING")

        with pytest.raises(GatewayRejectedError) as raised:
            await world.gateway.recent_own_messages(SESSION, CHAT, START)

        assert (raised.value.status, raised.value.session_status) == (422, "STARTING")

    # Client-supplied message ids (WAHA 2026.4.3+)

    async def test_each_new_message_id_is_fresh(self, world: World) -> None:
        first = await world.gateway.new_message_id(SESSION)
        second = await world.gateway.new_message_id(SESSION)

        assert first
        assert first != second

    async def test_a_new_message_id_while_not_working_is_a_422(self, world: World) -> None:
        world.set_status(SESSION, "STARTING")

        with pytest.raises(GatewayRejectedError) as raised:
            await world.gateway.new_message_id(SESSION)

        assert (raised.value.status, raised.value.session_status) == (422, "STARTING")
        assert not isinstance(raised.value, MessageIdsUnsupportedError)

    async def test_a_text_sent_with_our_id_carries_it(self, world: World) -> None:
        given = await world.gateway.new_message_id(SESSION)

        receipt = await world.gateway.send_text(SESSION, CHAT, "Hello Ana", message_id=given)

        assert receipt.message_id == given
        assert world.accepted() == [Accepted(SESSION, CHAT, "Hello Ana", None)]

    async def test_a_message_is_found_by_the_id_we_gave_it(self, world: World) -> None:
        world.clock.advance(0.005)
        await world.gateway.send_text(SESSION, CHAT, "Hello Ana", message_id=OUR_ID)

        found = await world.gateway.find_message(SESSION, OUR_ID)

        assert found is not None
        assert (found.message_id, found.chat_id, found.body) == (OUR_ID, CHAT, "Hello Ana")
        assert found.timestamp == START.replace(microsecond=0)  # whole seconds, as WAHA

    async def test_a_message_is_found_by_the_id_waha_gave_it(self, world: World) -> None:
        receipt = await world.gateway.send_image(SESSION, CHAT, IMAGE, "Our offer")
        assert receipt.message_id is not None

        found = await world.gateway.find_message(SESSION, receipt.message_id)

        assert found is not None
        assert (found.message_id, found.body) == (receipt.message_id, "Our offer")

    async def test_an_id_never_sent_is_not_found(self, world: World) -> None:
        await world.gateway.send_text(SESSION, CHAT, "Hello Ana", message_id=OUR_ID)

        assert await world.gateway.find_message(SESSION, "3EB0NEVERSENT00000000") is None
        assert await world.gateway.find_message(OTHER_SESSION, OUR_ID) is None

    async def test_finding_a_message_while_not_working_is_a_422(self, world: World) -> None:
        world.set_status(SESSION, "STARTING")

        with pytest.raises(GatewayRejectedError) as raised:
            await world.gateway.find_message(SESSION, OUR_ID)

        assert (raised.value.status, raised.value.session_status) == (422, "STARTING")

    async def test_media_sends_carry_wahas_own_id_not_ours(self, world: World) -> None:
        receipt = await world.gateway.send_media(
            SESSION, CHAT, MEDIA[MediaKind.DOCUMENT], "the offer", message_id=OUR_ID
        )

        assert receipt.message_id
        assert receipt.message_id != OUR_ID

    # An older WAHA, which knows no client-supplied ids

    async def test_an_older_waha_gives_no_new_message_id(self, world: World) -> None:
        world.support_message_ids(False)

        with pytest.raises(MessageIdsUnsupportedError) as raised:
            await world.gateway.new_message_id(SESSION)

        assert raised.value.status == 404
        assert isinstance(raised.value, GatewayRejectedError)

    async def test_an_older_waha_finds_no_message_by_id(self, world: World) -> None:
        world.support_message_ids(False)
        await world.gateway.send_text(SESSION, CHAT, "Hello Ana")

        with pytest.raises(MessageIdsUnsupportedError):
            await world.gateway.find_message(SESSION, OUR_ID)

    async def test_an_older_waha_ignores_our_id_and_says_so_in_the_receipt(
        self, world: World
    ) -> None:
        world.support_message_ids(False)

        receipt = await world.gateway.send_text(SESSION, CHAT, "Hello Ana", message_id=OUR_ID)

        assert receipt.message_id
        assert receipt.message_id != OUR_ID
        assert world.accepted() == [Accepted(SESSION, CHAT, "Hello Ana", None)]

    # Media of every kind

    @pytest.mark.parametrize("kind", list(MediaKind))
    async def test_each_media_kind_is_sent_with_its_bytes(
        self, world: World, kind: MediaKind
    ) -> None:
        media = MEDIA[kind]
        caption = "" if kind is MediaKind.VOICE else "Our offer"

        receipt = await world.gateway.send_media(SESSION, CHAT, media, caption)

        assert (receipt.chat_id, bool(receipt.message_id)) == (CHAT, True)
        digest = hashlib.sha256(media.data).hexdigest()
        assert world.accepted() == [Accepted(SESSION, CHAT, caption, digest, kind.value)]

    async def test_a_voice_note_with_a_caption_is_refused_before_sending(
        self, world: World
    ) -> None:
        with pytest.raises(ValueError, match="caption"):
            await world.gateway.send_media(SESSION, CHAT, MEDIA[MediaKind.VOICE], "listen")

        assert world.accepted() == []

    @pytest.mark.parametrize("kind", [MediaKind.DOCUMENT, MediaKind.VIDEO])
    async def test_media_sent_while_not_working_is_a_422_naming_the_status(
        self, world: World, kind: MediaKind
    ) -> None:
        world.set_status(SESSION, "STARTING")

        with pytest.raises(GatewayRejectedError) as raised:
            await world.gateway.send_media(SESSION, CHAT, MEDIA[kind], "")

        assert (raised.value.status, raised.value.session_status) == (422, "STARTING")
        assert world.accepted() == []

    # WhatsApp's limits on the account

    async def test_a_session_whose_limits_waha_does_not_report_has_none(self, world: World) -> None:
        assert (await world.gateway.session_status(SESSION)).limits is None

    async def test_an_active_reachout_timelock_is_reported_until_it_ends(
        self, world: World
    ) -> None:
        world.limit(SESSION, timelock_ends=LIMIT_ENDS, capped_until=None)

        limits = (await world.gateway.session_status(SESSION)).limits

        ends = datetime.fromtimestamp(LIMIT_ENDS, UTC)
        assert limits == AccountLimits(reachout_timelock_until=ends, capped_until=None)

    async def test_a_capped_account_is_reported_until_the_cycle_ends(self, world: World) -> None:
        world.limit(SESSION, timelock_ends=None, capped_until=LIMIT_ENDS)

        limits = (await world.gateway.session_status(SESSION)).limits

        ends = datetime.fromtimestamp(LIMIT_ENDS, UTC)
        assert limits == AccountLimits(reachout_timelock_until=None, capped_until=ends)
        assert limits.capped_until != UNTIL_FURTHER_NOTICE

    # The typing courtesy

    async def test_the_courtesy_calls_succeed_and_send_nothing(self, world: World) -> None:
        await world.gateway.send_seen(SESSION, CHAT)
        await world.gateway.start_typing(SESSION, CHAT)
        await world.gateway.stop_typing(SESSION, CHAT)

        assert world.accepted() == []

    @pytest.mark.parametrize("call", ["send_seen", "start_typing", "stop_typing"])
    async def test_a_courtesy_call_while_not_working_is_a_422(
        self, world: World, call: str
    ) -> None:
        world.set_status(SESSION, "STARTING")

        with pytest.raises(GatewayRejectedError) as raised:
            await getattr(world.gateway, call)(SESSION, CHAT)

        assert (raised.value.status, raised.value.session_status) == (422, "STARTING")


# The fake -----------------------------------------------------------------------------------


class FakeWorld:
    """FakeWahaGateway, steered through its test API."""

    def __init__(self) -> None:
        self.clock = ManualClock(START)
        self.fake = FakeWahaGateway(self.clock)
        self.gateway: WahaGateway = self.fake

    def set_status(self, session: str, status: str) -> None:
        self.fake.status = status

    def forget_session(self, session: str) -> None:
        self.fake.unknown_sessions.add(session)

    def mark_not_on_whatsapp(self, phone: str) -> None:
        self.fake.not_on_whatsapp.add(phone)

    def link(self, session: str, lid: str, phone_chat: str) -> None:
        self.fake.lids.setdefault(session, {})[lid] = phone_chat

    def accepted(self) -> list[Accepted]:
        return [
            Accepted(
                sent.session,
                sent.chat_id,
                sent.text,
                None if sent.image is None else hashlib.sha256(sent.image.data).hexdigest(),
                "text" if sent.image is None else sent.image.kind.value,
            )
            for sent in self.fake.sent
        ]

    def support_message_ids(self, supported: bool) -> None:
        self.fake.message_ids_supported = supported

    def limit(self, session: str, *, timelock_ends: int | None, capped_until: int | None) -> None:
        def moment(seconds: int | None) -> datetime | None:
            return None if seconds is None else datetime.fromtimestamp(seconds, UTC)

        self.fake.limits = AccountLimits(moment(timelock_ends), moment(capped_until))


class TestFakeWahaGateway(WahaGatewayContract):
    @pytest.fixture
    def world(self) -> FakeWorld:
        return FakeWorld()


# The real adapter, against the simulator ------------------------------------------------------


class SimulatedWorld:
    """AiohttpWahaGateway over HTTP to the simulator, steered through its Python API."""

    def __init__(self, gateway: AiohttpWahaGateway, simulator: WahaSimulator, clock: ManualClock):
        self.gateway: WahaGateway = gateway
        self.simulator = simulator
        self.clock = clock

    def set_status(self, session: str, status: str) -> None:
        self.simulator.set_status(session, status)

    def forget_session(self, session: str) -> None:
        self.simulator.remove_session(session)

    def mark_not_on_whatsapp(self, phone: str) -> None:
        self.simulator.mark_not_on_whatsapp(phone)

    def link(self, session: str, lid: str, phone_chat: str) -> None:
        self.simulator.link(session, lid, phone_chat)

    def accepted(self) -> list[Accepted]:
        return [
            Accepted(entry.session, entry.chat_id, entry.body, entry.media_sha256, entry.kind)
            for entry in self.simulator.ledger()
        ]

    def support_message_ids(self, supported: bool) -> None:
        self.simulator.message_ids = supported

    def limit(self, session: str, *, timelock_ends: int | None, capped_until: int | None) -> None:
        changes: dict[str, dict[str, object] | None] = {}
        if timelock_ends is not None:
            changes["reachoutTimelock"] = {"isActive": True, "timeEnforcementEnds": timelock_ends}
        if capped_until is not None:
            changes["messageCapping"] = {"cappingStatus": "CAPPED", "cycleEnd": capped_until}
        self.simulator.set_limits(session, changes)


class TestAiohttpWahaGatewayOnTheSimulator(WahaGatewayContract):
    @pytest.fixture
    async def world(self, aiohttp_server: AiohttpServer) -> AsyncIterator[SimulatedWorld]:
        clock = ManualClock(START)
        config = SimulatorConfig(
            sessions=(SESSION, OTHER_SESSION),
            not_working_wait=0,
            starting_seconds=None,
            ack_seconds=(0, 0),
        )
        app = make_simulator_app(config, clock=clock, sleeper=InstantSleeper())
        server = await aiohttp_server(app)
        async with aiohttp.ClientSession() as http:
            gateway = AiohttpWahaGateway(
                http, base_url=str(server.make_url("")), api_key=None, clock=clock
            )
            yield SimulatedWorld(gateway, app[SIMULATOR_KEY], clock)
