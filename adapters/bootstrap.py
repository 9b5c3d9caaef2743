"""The composition root: the one place that constructs the application and wires adapters in.

Every entry point (serve, each CLI command, the demo, the benchmarks) builds what it needs
here; no other module imports this one, and nothing in `app/` imports an adapter.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import aiohttp
from aiohttp import web
from eventsourcing.persistence import PersistenceError
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresFactory,
)
from eventsourcing.sqlite import (
    SQLITE3_DEFAULT_LOCK_TIMEOUT,
    SQLiteAggregateRecorder,
    SQLiteApplicationRecorder,
    SQLiteFactory,
)
from eventsourcing.utils import strtobool

from adapters.console.mount import console
from adapters.contact_spool import SqliteContactSpool
from adapters.contacts_postgres import PostgresContactsView
from adapters.http_api.context import ApiContext, ApiRuntime
from adapters.http_api.metrics import ApiMetrics
from adapters.http_api.server import make_app
from adapters.http_api.view_cache import ViewCache
from adapters.http_api.webhooks import STALE_AFTER
from adapters.leases import FileLaneLeases, InProcessLaneLeases, PostgresLaneLeases
from adapters.media import FileMediaStore
from adapters.notify_http import AiohttpNotificationTransport
from adapters.persistence import persistence_environment, postgres_conninfo
from adapters.postgres_gate_reads import PostgresGateReads
from adapters.postgres_on_loop import LoopConnections, PostgresLoopWriter
from adapters.read_model import contacts_view
from adapters.seen_webhooks import SeenWebhooksStore, seen_webhooks
from adapters.sqlite_gate_reads import SQLiteGateReads
from adapters.sqlite_on_loop import SQLiteLoopWriter
from adapters.store_tables import create_tables
from adapters.system import AsyncioSleeper, SystemClock, SystemRandom
from adapters.waha.client import AiohttpWahaGateway
from app.blocking import off_loop
from app.campaign_facts import CampaignFactsTracker
from app.campaigns import CampaignsApp
from app.committer import GroupCommitter
from app.contacts_projection import ContactsProjection
from app.deliveries import DeliveryTracker
from app.eta import FinishEstimate
from app.gate_reads import GateReads, StoreGateReads
from app.guardrails import Guardrails
from app.lane_parts import LanePorts, LaneSettings, SendGates
from app.lanes import Lanes
from app.log_follower import LogFollower, follower_of
from app.notifications import NotificationSender
from app.opt_outs import OptOutBook
from app.ports import Clock, LaneLeases, MediaKind, RandomSource, Sleeper, WahaGateway
from app.preview import CampaignPreview
from app.read_models import ContactsView
from app.session_settings import SessionSettingsBook
from app.sessions import SessionsOverview
from app.settings import Settings
from app.supervisor import Supervisor, SupervisorSettings


@dataclass(frozen=True)
class Services:
    """Everything a process needs that does not need an event loop, built once."""

    settings: Settings
    campaigns: CampaignsApp
    media: FileMediaStore
    deliveries: DeliveryTracker
    facts: CampaignFactsTracker
    leases: LaneLeases
    clock: Clock
    sleeper: Sleeper
    rng: RandomSource
    # The one reader of the store's log, and the per-contact read model it keeps current.
    follower: LogFollower
    contacts: ContactsView
    seen_webhooks: SeenWebhooksStore
    # The numbers' guardrails: their settings, the opt-out list, and the gates before sends.
    session_settings: SessionSettingsBook
    opt_outs: OptOutBook
    guardrails: Guardrails
    # When campaigns should finish: views carry it as `eta` (campaigns.estimate_finish).
    estimate: FinishEstimate
    # PostgreSQL: connections for the runtime's event loop (the group commit's writes, the
    # gates' reads), opened and closed by `running`. None on other stores.
    loop_connections: LoopConnections | None = None

    def close(self) -> None:
        """Close the event store's connections, and those of the leases and seen webhooks."""
        try:
            self.campaigns.close()
        finally:
            self.seen_webhooks.close()
            self.leases.close()
            self.guardrails.close()


@dataclass(frozen=True)
class Runtime:
    """The services plus what lives on the event loop: WAHA's client, the runner, the supervisor."""

    services: Services
    gateway: WahaGateway
    committer: GroupCommitter
    lanes: Lanes
    supervisor: Supervisor
    # The sender of campaign notifications, when CAMPAIGNS_NOTIFY_URL is set.
    notifications: NotificationSender | None = None


def system_time() -> tuple[Clock, Sleeper]:
    """Return the wall clock and the real sleeper, for commands that only poll."""
    return SystemClock(), AsyncioSleeper()


def campaigns_app(
    url: str,
    *,
    clock: Clock | None = None,
    create_dirs: bool = True,
    default_region: str | None = None,
    snapshot_interval: int | None = None,
    env: dict[str, str] | None = None,
) -> CampaignsApp:
    """Return the campaigns application on the store at `url` (tables created unless told).

    An audience being scheduled waits between screening and recording in a temporary SQLite
    file, so a million-row upload costs the process no more memory than a small one.
    """
    return CampaignsApp(
        clock=clock or SystemClock(),
        env={**persistence_environment(url, create_dirs=create_dirs), **(env or {})},
        default_region=default_region,
        snapshot_interval=snapshot_interval,
        spools=SqliteContactSpool,
    )


def lane_leases(settings: Settings, *, create_table: bool = True) -> LaneLeases:
    """Return the lane leases for the store: file locks beside SQLite, lease rows on PostgreSQL."""
    url = settings.campaigns_database_url
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        return FileLaneLeases(path.parent / f"{path.name}.lanes")
    if url.startswith(("postgresql://", "postgres://")):
        leases = PostgresLaneLeases(
            postgres_conninfo(url), lease_seconds=settings.campaigns_lease_seconds
        )
        if create_table:
            leases.create_table()
        return leases
    return InProcessLaneLeases()


def lane_settings_of(settings: Settings) -> LaneSettings:
    """Return the lanes' timings: leases that lapse only on PostgreSQL."""
    postgres = settings.campaigns_database_url.startswith(("postgresql://", "postgres://"))
    lease = settings.campaigns_lease_seconds
    return LaneSettings(
        lease_seconds=lease if postgres else None,
        renew_every_seconds=lease / 3 if postgres else 60.0,
    )


def build(
    settings: Settings,
    *,
    clock: Clock | None = None,
    sleeper: Sleeper | None = None,
    rng: RandomSource | None = None,
    create_dirs: bool = True,
) -> Services:
    """Return the services for `settings`, with real clock, sleeper and chance unless given."""
    clock = clock or SystemClock()
    url = settings.campaigns_database_url
    # Tables are made once below, together and under one lock, never by each part on its own.
    campaigns = campaigns_app(
        url,
        clock=clock,
        create_dirs=create_dirs,
        default_region=settings.campaigns_default_region,
        snapshot_interval=settings.campaigns_snapshot_interval,
        env={"CAMPAIGNS_CREATE_TABLE": "n"},
    )
    try:
        if creates_tables():
            create_tables(campaigns, url)
        follower, contacts = read_model(campaigns)
        seen = seen_webhooks(
            url, STALE_AFTER, create_table=False, busy_timeout=sqlite_busy_timeout(campaigns)
        )
        leases = lane_leases(settings, create_table=False)
    except BaseException:
        campaigns.close()
        raise
    facts = CampaignFactsTracker(campaigns)
    sleeper = sleeper or AsyncioSleeper()
    on_loop = loop_connections(url, campaigns, sleeper)
    gate_reads = gate_reads_of(url, campaigns, contacts, on_loop)
    session_settings = SessionSettingsBook(campaigns, clock)
    opt_outs = OptOutBook(campaigns, clock, settings.campaigns_default_region)
    estimate = FinishEstimate(facts.facts, session_settings, contacts, clock)
    campaigns.estimate_finish = estimate  # views carry when each campaign should finish
    return Services(
        settings=settings,
        campaigns=campaigns,
        media=FileMediaStore(settings.campaigns_media_dir, media_limits_of(settings)),
        deliveries=DeliveryTracker(campaigns, contacts, follower),
        facts=facts,
        leases=leases,
        clock=clock,
        sleeper=sleeper,
        rng=rng or SystemRandom(),
        follower=follower,
        contacts=contacts,
        seen_webhooks=seen,
        session_settings=session_settings,
        opt_outs=opt_outs,
        guardrails=Guardrails(
            campaigns,
            session_settings,
            contacts,
            reads=gate_reads,
            loop_reads=gate_reads if isinstance(gate_reads, PostgresGateReads) else None,
        ),
        estimate=estimate,
        loop_connections=on_loop,
    )


def media_limits_of(settings: Settings) -> dict[MediaKind, int]:
    """Return the largest file of each media kind taken, as the settings give them."""
    return {
        MediaKind.IMAGE: settings.campaigns_max_image_bytes,
        MediaKind.DOCUMENT: settings.campaigns_max_document_bytes,
        MediaKind.VIDEO: settings.campaigns_max_video_bytes,
        MediaKind.VOICE: settings.campaigns_max_voice_bytes,
    }


def sqlite_busy_timeout(campaigns: CampaignsApp) -> float:
    """Return how long the library's SQLite connections wait for a lock (SQLITE_LOCK_TIMEOUT).

    Our own connections to the same file (the gates' reads, the seen webhooks, the group
    commit's writer when another connection writes) wait as long.
    """
    datastore = getattr(campaigns.recorder, "datastore", None)
    timeout = getattr(getattr(datastore, "pool", None), "lock_timeout", None)
    return float(timeout) if timeout else float(SQLITE3_DEFAULT_LOCK_TIMEOUT)


def loop_connections(url: str, campaigns: CampaignsApp, sleeper: Sleeper) -> LoopConnections | None:
    """Return connections for the event loop on PostgreSQL (opened by `running`), else None."""
    recorder = campaigns.recorder
    if url.startswith(("postgresql://", "postgres://")) and isinstance(
        recorder, PostgresApplicationRecorder
    ):
        return LoopConnections(postgres_conninfo(url), recorder, sleeper)
    return None


def loop_writer(services: Services) -> PostgresLoopWriter | SQLiteLoopWriter | None:
    """Return the group commit's writer on the event loop, where the store has one.

    A SQLite writer is returned unopened: `running` opens it on its loop and closes it.
    """
    recorder = services.campaigns.recorder
    snapshots = services.campaigns.snapshots
    snapshot_recorder = None if snapshots is None else snapshots.recorder
    if isinstance(recorder, SQLiteApplicationRecorder):
        return _sqlite_writer(services.campaigns, recorder, snapshot_recorder)
    connections = services.loop_connections
    if connections is None or not isinstance(recorder, PostgresApplicationRecorder):
        return None
    if recorder.datastore.originator_id_type != "uuid":
        return None  # its events go as a binary array of UUID ids: text ids keep the library's
    if snapshot_recorder is not None and not isinstance(
        snapshot_recorder, PostgresAggregateRecorder
    ):
        return None
    return PostgresLoopWriter(connections, recorder, snapshot_recorder)


def _sqlite_writer(
    campaigns: CampaignsApp, recorder: SQLiteApplicationRecorder, snapshots: object
) -> SQLiteLoopWriter | None:
    pool = recorder.datastore.pool
    if pool.is_sqlite_memory_mode:
        return None  # another connection would see another database
    if snapshots is not None and not isinstance(snapshots, SQLiteAggregateRecorder):
        return None
    # The lock the library's writers in this process take turns on: the batches take it too.
    writers = getattr(pool, "_writer_lock", None)
    if not isinstance(writers, type(threading.Lock())):
        return None  # another version of the library: its own path, with its own turns
    return SQLiteLoopWriter(
        pool.db_name,
        recorder,
        snapshots,
        writers=writers,
        lock_timeout_seconds=sqlite_busy_timeout(campaigns),
    )


def gate_reads_of(
    url: str,
    campaigns: CampaignsApp,
    contacts: ContactsView,
    on_loop: LoopConnections | None = None,
) -> GateReads:
    """Return the guardrails' reads: one transaction or round trip of their own, else the library's.

    (Memory stores read through the library; they have no round trips to save.)
    """
    recorder = campaigns.recorder
    if url.startswith("sqlite:///") and isinstance(recorder, SQLiteApplicationRecorder):
        return SQLiteGateReads(
            Path(url.removeprefix("sqlite:///")),
            recorder.events_table_name,
            recorder.convert_originator_id,
            sqlite_busy_timeout(campaigns),
        )
    if isinstance(recorder, PostgresApplicationRecorder) and isinstance(
        contacts, PostgresContactsView
    ):
        return PostgresGateReads(recorder, on_loop)
    return StoreGateReads(campaigns, contacts)


def read_model(
    campaigns: CampaignsApp, projection: Callable[[ContactsView], ContactsProjection] | None = None
) -> tuple[LogFollower, ContactsView]:
    """Return the log's follower of `campaigns`, with the per-contact read model subscribed.

    `projection` makes the projection from the view (e.g. one that reports its progress);
    by default the plain one.
    """
    follower = follower_of(campaigns)
    contacts = contacts_view(campaigns)
    subscriber = (
        projection(contacts) if projection is not None else ContactsProjection(contacts, campaigns)
    )
    follower.subscribe(subscriber)
    return follower, contacts


def stored_read_model(campaigns: CampaignsApp) -> ContactsView | None:
    """Return the read model stored beside `campaigns`' events, or None if there is none.

    Nothing is created: audits open the store read-only, and an older store has no tables.
    """
    if not isinstance(campaigns.factory, SQLiteFactory | PostgresFactory):
        return None  # a memory store's read model lives and dies with its process
    view = contacts_view(campaigns)
    try:
        view.position()
        view.campaign_size(UUID(int=0))
    except PersistenceError:
        return None
    return view


def init_store(url: str) -> list[str]:
    """Create every table of the store at `url` once (the `init-db` command); return them."""
    campaigns = campaigns_app(url, env={"CAMPAIGNS_CREATE_TABLE": "n"})
    try:
        return create_tables(campaigns, url)
    finally:
        campaigns.close()


def creates_tables(environ: Mapping[str, str] | None = None) -> bool:
    """Whether missing tables are created at start: CAMPAIGNS_CREATE_TABLE (default y)."""
    value = (os.environ if environ is None else environ).get("CAMPAIGNS_CREATE_TABLE", "y")
    return strtobool(value)


@contextlib.contextmanager
def read_only_campaigns(env: dict[str, str]) -> Iterator[CampaignsApp]:
    """Open the campaigns with the library environment `env` for reading only, then close them."""
    app = CampaignsApp(clock=SystemClock(), env=env)
    try:
        yield app
    finally:
        app.close()


def waha_gateway(
    session: aiohttp.ClientSession, settings: Settings, clock: Clock
) -> AiohttpWahaGateway:
    """Return WAHA's client on `session`, with the settings' URL, key and timeouts."""
    return AiohttpWahaGateway(
        session,
        base_url=settings.waha_url,
        api_key=settings.waha_api_key,
        clock=clock,
        timeout=aiohttp.ClientTimeout(
            total=settings.waha_timeout_seconds, connect=settings.waha_connect_timeout_seconds
        ),
    )


def supervisor_settings_of(settings: Settings) -> SupervisorSettings:
    """Return the supervisor's timings as the settings give them."""
    return SupervisorSettings(waha_timeout_seconds=settings.waha_timeout_seconds)


@contextlib.asynccontextmanager
async def running(
    services: Services,
    *,
    gateway: WahaGateway | None = None,
    supervisor_settings: SupervisorSettings | None = None,
    lane_settings: LaneSettings | None = None,
    start_supervisor: bool = True,
    decorate_gateway: Callable[[WahaGateway], WahaGateway] | None = None,
    gates: SendGates | None = None,
    gather_seconds: float | None = None,
) -> AsyncIterator[Runtime]:
    """Run the runtime on the current loop; on exit, stop runs safely and close WAHA's client.

    `gather_seconds` gives the group commit a gathering window (benchmarks compare; none
    by default).
    `decorate_gateway` wraps the gateway (given or built) before anything uses it, e.g. to time
    every WAHA call for the metrics. `gates` replaces the numbers' guardrails (benchmarks
    compare them with OpenGates).
    """
    async with contextlib.AsyncExitStack() as stack:
        if gateway is None:
            # One ClientSession per process: its connection pool is shared by every run. WAHA
            # sets no cookies: without a jar no request filters one (measured: ~7% of a call).
            session = await stack.enter_async_context(
                aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
            )
            gateway = waha_gateway(session, services.settings, services.clock)
        notifications = None
        if services.settings.campaigns_notify_url is not None:
            # A session of its own, with cookies: the notified endpoint is not WAHA.
            notify = await stack.enter_async_context(aiohttp.ClientSession())
            notifications = await notification_sender(services, notify)
            if start_supervisor:
                stack.push_async_callback(_cancelled, asyncio.create_task(notifications.run()))
        if decorate_gateway is not None:
            gateway = decorate_gateway(gateway)
        # No gathering window unless asked: measured, it cost PostgreSQL a fifth (0.73-0.80x)
        # and halved SQLite's zero-pacing throughput (bench/runner_throughput.py).
        gather = gather_seconds or 0.0
        if services.loop_connections is not None:
            await services.loop_connections.open()
            stack.push_async_callback(services.loop_connections.close)  # after the committer's
        writer = loop_writer(services)
        if isinstance(writer, SQLiteLoopWriter) and writer.open():  # not a file in WAL mode: no
            stack.push_async_callback(writer.close)  # after the committer's
        committer = GroupCommitter(
            services.campaigns,
            gather_seconds=gather,
            sleeper=services.sleeper,
            writer=writer,
        )
        lanes = Lanes(
            LanePorts(
                campaigns=services.campaigns,
                committer=committer,
                gateway=gateway,
                media=services.media,
                clock=services.clock,
                sleeper=services.sleeper,
                rng=services.rng,
                facts=services.facts.facts,
                gates=services.guardrails if gates is None else gates,
            ),
            services.leases,
            settings=lane_settings or lane_settings_of(services.settings),
        )
        supervisor = Supervisor(
            services.campaigns,
            lanes,
            services.facts,
            clock=services.clock,
            sleeper=services.sleeper,
            settings=supervisor_settings or supervisor_settings_of(services.settings),
        )
        if start_supervisor:
            await supervisor.start()
        try:
            yield Runtime(services, gateway, committer, lanes, supervisor, notifications)
        finally:
            try:
                await supervisor.shutdown()
            finally:
                await committer.close()


async def notification_sender(
    services: Services, session: aiohttp.ClientSession
) -> NotificationSender:
    """Return the sender of notifications to CAMPAIGNS_NOTIFY_URL, following the log."""
    settings = services.settings
    url = settings.campaigns_notify_url
    assert url is not None  # noqa: S101 - asked only when it is set
    if settings.campaigns_notify_hmac_key is None:
        logging.getLogger("waha_campaigns.notifications").warning(
            "CAMPAIGNS_NOTIFY_HMAC_KEY is not set: notifications are sent unsigned"
        )
    transport = AiohttpNotificationTransport(session, url, settings.campaigns_notify_hmac_key)
    sender = NotificationSender(
        services.campaigns,
        services.follower,
        transport,
        clock=services.clock,
        sleeper=services.sleeper,
    )
    await off_loop(sender.prepare)
    return sender


async def _cancelled(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def http_app(
    services: Services,
    *,
    gateway: WahaGateway | None = None,
    supervisor_settings: SupervisorSettings | None = None,
    lane_settings: LaneSettings | None = None,
    start_supervisor: bool = True,
) -> web.Application:
    """Return the HTTP API, and the operator console under /ui/, over `services`.

    The runtime starts and stops with the app. Every WAHA call is timed for /metrics. See
    `make_app` for when the supervisor starts.
    """
    metrics = ApiMetrics(services.contacts)
    context = ApiContext(
        settings=services.settings,
        campaigns=services.campaigns,
        media=services.media,
        deliveries=services.deliveries,
        follower=services.follower,
        contacts=services.contacts,
        clock=services.clock,
        sleeper=services.sleeper,
        metrics=metrics,
        view_cache=ViewCache(
            services.campaigns,
            services.follower,
            clock=services.clock,
            session_of=lambda campaign_id: getattr(
                services.facts.get(campaign_id), "session", None
            ),
        ),
        seen_webhooks=services.seen_webhooks,
        session_settings=services.session_settings,
        opt_outs=services.opt_outs,
        sessions=SessionsOverview(
            services.session_settings, services.contacts, services.leases, services.clock
        ),
        preview=CampaignPreview(
            services.campaigns,
            services.session_settings,
            services.opt_outs,
            services.contacts,
            services.estimate,
            services.clock,
        ),
    )

    @contextlib.asynccontextmanager
    async def runtime() -> AsyncIterator[ApiRuntime]:
        async with running(
            services,
            gateway=gateway,
            supervisor_settings=supervisor_settings,
            lane_settings=lane_settings,
            start_supervisor=False,  # start_running starts it, once the app listens
            decorate_gateway=metrics.timed,
        ) as started:
            yield ApiRuntime(
                gateway=started.gateway,
                supervisor=started.supervisor,
                notifications=started.notifications,
            )

    return make_app(context, runtime, start_supervisor=start_supervisor, mounted=[console(context)])
