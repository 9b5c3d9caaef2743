"""The console mounted beside the API: its routes under /ui/, its state, its middlewares."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from aiohttp import web
from aiohttp.typedefs import Handler

from adapters.console import commands, guard, rendering
from adapters.console.auth import ConsoleSessions
from adapters.console.drafts import Drafts
from adapters.console.keys import STATE, ConsoleState, Features
from adapters.console.latest_views import LatestViews
from adapters.console.opt_out_list import OptOutList
from adapters.console.pages import (
    audit,
    campaign,
    campaigns,
    new,
    not_found,
    operator,
    opt_outs,
    sessions,
    sign_in,
)
from adapters.console.records import CampaignRecords, SampleContacts
from adapters.http_api.context import ApiContext
from adapters.http_api.server import Mounted

PREFIX: Final = "/ui"
STATIC_DIR: Final = Path(__file__).parent / "static"
_UUID: Final = "{campaign_id:[0-9a-fA-F-]{36}}"
# WAHA session names, as the API's routes take them (app.session_settings.SESSION_NAME).
_SESSION: Final = "{session:[A-Za-z0-9_-]{1,64}}"

# (method, path under /ui, handler, route name): the order matters where paths overlap.
ROUTES: Final[tuple[tuple[str, str, Handler, str], ...]] = (
    ("GET", "/", campaigns.campaigns_page, "console_home"),
    ("GET", "/sign-in", sign_in.sign_in_page, "console_sign_in"),
    ("POST", "/sign-in", sign_in.sign_in, "console_sign_in_post"),
    ("POST", "/sign-out", sign_in.sign_out, "console_sign_out"),
    ("GET", "/campaigns", campaigns.campaigns_page, "console_campaigns"),
    ("GET", "/campaigns/live", campaigns.campaigns_live, "console_campaigns_live"),
    ("GET", "/campaigns/new", new.new_campaign_page, "console_new"),
    ("POST", "/campaigns/new", new.new_campaign, "console_new_post"),
    ("GET", f"/campaigns/{_UUID}", campaign.campaign_page, "console_campaign"),
    ("GET", f"/campaigns/{_UUID}/live", campaign.campaign_live, "console_campaign_live"),
    ("GET", f"/campaigns/{_UUID}/contacts.csv", campaign.campaign_csv, "console_contacts_csv"),
    ("POST", f"/campaigns/{_UUID}/pause", operator.pause, "console_pause"),
    ("POST", f"/campaigns/{_UUID}/resume", operator.resume, "console_resume"),
    ("GET", f"/campaigns/{_UUID}/cancel", operator.confirm_cancel, "console_confirm_cancel"),
    ("POST", f"/campaigns/{_UUID}/cancel", operator.cancel, "console_cancel"),
    ("POST", f"/campaigns/{_UUID}/retry", operator.retry, "console_retry"),
    ("GET", "/sessions", sessions.sessions_page, "console_sessions"),
    ("GET", "/sessions/live", sessions.sessions_live, "console_sessions_live"),
    ("GET", f"/sessions/{_SESSION}/settings", sessions.session_page, "console_session"),
    ("POST", f"/sessions/{_SESSION}/settings", sessions.change_settings, "console_settings"),
    ("GET", f"/sessions/{_SESSION}/live", sessions.session_live, "console_session_live"),
    ("GET", "/opt-outs", opt_outs.opt_outs_page, "console_opt_outs"),
    ("POST", "/opt-outs", opt_outs.add_opt_out, "console_opt_outs_add"),
    ("GET", "/opt-outs/remove", opt_outs.confirm_removal, "console_opt_outs_confirm_remove"),
    ("POST", "/opt-outs/remove", opt_outs.remove_opt_out, "console_opt_outs_remove"),
    ("POST", "/opt-outs/import", opt_outs.import_file, "console_opt_outs_import"),
    ("GET", "/opt-outs.csv", opt_outs.export_csv, "console_opt_outs_csv"),
    ("GET", "/audit", audit.audit_page, "console_audit"),
    ("GET", "/audit/live", audit.audit_live, "console_audit_live"),
    ("GET", "/audit/verify", audit.verify_page, "console_verify"),
)
_ROOT: Final = (("/", "console_root"), (PREFIX, "console_bare"))
PUBLIC_ROUTES: Final = frozenset(
    {name for *_, name in ROUTES}
    | {name for _, name in _ROOT}
    | {"console_static", "console_not_found"}
)


async def _to_console(_request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound(f"{PREFIX}/")


def features_of(app: web.Application) -> Features:
    """Return what the app offers that some console pages wait for."""
    return Features(retry=commands.retry_offered(app))


def console_app(context: ApiContext) -> web.Application:
    """Return the console as an app of its own, to mount under /ui on the API's app.

    Its read models (milestones, the opt-out list) join the context's log follower, like the
    other read models.
    """
    records = CampaignRecords(context.campaigns)
    context.follower.subscribe(records)
    listed = OptOutList(context.campaigns)
    context.follower.subscribe(listed)
    token = context.settings.campaigns_api_token
    if token is None:
        raise ValueError("the console signs people in with CAMPAIGNS_API_TOKEN, which is unset")
    app = web.Application(middlewares=[guard.errors_and_headers, guard.session_guard])
    app[STATE] = ConsoleState(
        sessions=ConsoleSessions(token, context.clock),
        records=records,
        opt_outs=listed,
        samples=SampleContacts(context.campaigns),
        drafts=Drafts(context.clock),
        views=LatestViews(context.campaigns.campaign),
        features=Features(),
    )
    rendering.install(app)
    for method, path, handler, name in ROUTES:
        app.router.add_route(method, path, handler, name=name)
    app.router.add_static("/static", STATIC_DIR, name="console_static")
    app.router.add_route("*", "/{tail:.*}", not_found.not_found, name="console_not_found")
    return app


def console(context: ApiContext) -> Mounted:
    """Return the console, to hand to make_app: /ui/ and its pages, / leading there."""

    def add(app: web.Application) -> None:
        ui = console_app(context)
        for path, name in _ROOT:
            app.router.add_get(path, _to_console, name=name)
        app.add_subapp(PREFIX, ui)

        async def detect(parent: web.Application) -> None:
            ui[STATE].features = features_of(parent)

        app.on_startup.append(detect)

    return Mounted(add=add, public_routes=PUBLIC_ROUTES)
