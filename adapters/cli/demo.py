"""`waha-campaigns demo`: a whole campaign end to end against the WAHA simulator."""

from __future__ import annotations

import argparse
import asyncio
import secrets
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

from adapters import bootstrap, processes
from domain.numbering import contact_words

CONTACTS = 20
NAMES = "Ana Ben Caro Dev Eli Fay Gus Hana Ivo Jun Kai Lea Mo Nia Oli Pia Quin Ravi Sol Tom"
OUTAGE_SECONDS = 4.0


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `demo` subcommand."""
    parser = subparsers.add_parser(
        "demo",
        help="run a sample campaign against the WAHA simulator (nothing reaches WhatsApp)",
        description=(
            "Starts the WAHA simulator and the service on a throw-away SQLite file, sends a "
            f"{CONTACTS}-contact campaign, takes the session down for a few seconds (the campaign "
            "pauses at its contact) and back (it resumes by itself), then prints the audit trail."
        ),
        epilog="exit codes: 0 the demo completed, 1 it did not",
    )
    parser.add_argument("--keep", action="store_true", help="keep the demo's folder afterwards")
    parser.add_argument(
        "--linger",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="wait SECONDS before the campaign starts and after it ends, to watch it in the "
        "console (its URL and sign-in token are printed)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo and return its exit code."""
    folder = Path(tempfile.mkdtemp(prefix="waha-campaigns-demo-"))
    try:
        return asyncio.run(_demo(folder, max(args.linger, 0.0)))
    except (processes.ProcessStartError, RuntimeError, aiohttp.ClientError) as error:
        print(f"\nthe demo failed: {error}\nlogs: {folder}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"kept the demo's store and logs in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


class _Demo:
    def __init__(
        self, http: aiohttp.ClientSession, service: str, simulator: str, token: str
    ) -> None:
        self.http = http
        self.service = service
        self.simulator = simulator
        self.headers = {"Authorization": f"Bearer {token}"}
        self.clock, self.sleeper = bootstrap.system_time()
        self.tty = sys.stdout.isatty()

    async def api(self, method: str, path: str, body: Any = None) -> Any:
        async with self.http.request(
            method, self.service + path, json=body, headers=self.headers
        ) as response:
            answer = await response.json(content_type=None)
            if response.status >= 400:  # noqa: PLR2004 - HTTP errors
                raise RuntimeError(f"{method} {path}: {response.status} {answer}")
            return answer

    async def control(self, method: str, path: str, body: Any = None) -> Any:
        async with self.http.request(
            method, f"{self.simulator}/_simulator{path}", json=body
        ) as response:
            return await response.json(content_type=None)

    def show(self, view: dict[str, Any]) -> None:
        done = view["sent"] + view["failed"] + view["skipped"] + view["in_doubt"]
        width = 30
        filled = width * done // max(view["total"], 1)
        bar = "#" * filled + "-" * (width - filled)
        line = (
            f"[{bar}] {done}/{view['total']}  sent {view['sent']}  failed {view['failed']}  "
            f"{view['status']}"
        )
        if view["pause"]:
            where = contact_words(view["pause"]["index"], view["total"])
            line += f" at {where} ({view['pause']['reason']})"
        print(f"\r{line:<100}" if self.tty else line, end="" if self.tty else "\n", flush=True)

    async def follow(
        self, campaign_id: str, until: set[str], *, sent_at_least: int = 0
    ) -> dict[str, Any]:
        last: tuple[Any, ...] = ()
        while True:
            view: dict[str, Any] = await self.api("GET", f"/campaigns/{campaign_id}")
            key = (view["sent"], view["status"], view["next_index"])
            if key != last:
                self.show(view)
                last = key
            if view["status"] in until or (sent_at_least and view["sent"] >= sent_at_least):
                if self.tty:
                    print()
                return view
            await self.sleeper.sleep(0.1)


async def _demo(folder: Path, linger: float = 0.0) -> int:
    token = secrets.token_urlsafe(24)
    hmac_key = secrets.token_hex(16)
    service_port = processes.free_port()
    service_url = f"http://127.0.0.1:{service_port}"
    clock, sleeper = bootstrap.system_time()
    print("waha-campaigns demo: every message goes to a WAHA SIMULATOR on 127.0.0.1;")
    print("nothing reaches WhatsApp. Logs and the store are in a throw-away folder.\n")
    async with (
        processes.simulator(
            folder / "simulator.log",
            "--not-working-wait",
            "1",
            "--webhook-url",
            f"{service_url}/webhooks/waha",
            "--webhook-hmac-key",
            hmac_key,
            clock=clock,
            sleeper=sleeper,
        ) as simulator,
        aiohttp.ClientSession() as http,
    ):
        service = await processes.start(
            ["serve", "--host", "127.0.0.1", "--port", str(service_port)],
            port=service_port,
            ready_path="/healthz",
            log_path=folder / "service.log",
            clock=clock,
            sleeper=sleeper,
            env={
                "CAMPAIGNS_DATABASE_URL": f"sqlite:///{folder / 'campaigns.sqlite3'}",
                "CAMPAIGNS_MEDIA_DIR": str(folder / "media"),
                "CAMPAIGNS_API_TOKEN": token,
                "WAHA_URL": simulator.url,
                "WAHA_WEBHOOK_HMAC_KEY": hmac_key,
            },
        )
        try:
            demo = _Demo(http, service_url, simulator.url, token)
            _console(service_url, token, linger)
            if linger:
                await sleeper.sleep(linger)
            ended = await _story(demo)
            if linger:
                print(f"\nthe console stays up for {linger:g} s more")
                await sleeper.sleep(linger)
            return ended
        finally:
            service.terminate()
            await service.wait(15)


def _console(service_url: str, token: str, linger: float) -> None:
    """Say where to watch the demo in a browser, and with which (throw-away) token."""
    print(f"console: {service_url}/ui/  (sign in with this demo's throw-away token: {token})")
    if not linger:
        print("         add --linger 30 to have time to open it before the campaign starts")
    print()


async def _story(demo: _Demo) -> int:
    print(f"simulator: {demo.simulator}   service: {demo.service}")
    contacts = [
        {"phone": f"+49151{30000000 + i}", "name": name} for i, name in enumerate(NAMES.split())
    ][:CONTACTS]
    created = await demo.api(
        "POST",
        "/campaigns",
        {
            "name": "Demo: spring opening",
            "message": {"text": "Hi {name}, our spring opening is on Saturday. See you there?"},
            "contacts": contacts,
            "pacing": {"min_seconds": 0.3, "max_seconds": 0.6},
        },
    )
    campaign_id = created["id"]
    print(f"campaign {campaign_id}: {created['total']} contacts, pacing 0.3-0.6 s\n")
    await demo.follow(campaign_id, {"Completed", "Paused"}, sent_at_least=6)

    print(f"\n>>> the WhatsApp session goes to STARTING for {OUTAGE_SECONDS:g} s")
    await demo.control(
        "PUT",
        "/sessions/default/schedule",
        {
            "steps": [
                {"status": "STARTING", "after_seconds": 0},
                {"status": "WORKING", "after_seconds": OUTAGE_SECONDS},
            ]
        },
    )
    paused = await demo.follow(campaign_id, {"Paused", "Completed"})
    if paused["pause"]:
        print(
            f"    paused before {contact_words(paused['pause']['index'], paused['total'])}: "
            f"{paused['pause']['reason']} ({paused['pause']['detail']})"
        )
    print(">>> waiting for the session to work again; the campaign resumes by itself\n")
    final = await demo.follow(campaign_id, {"Completed", "Cancelled"})
    await _audit(demo, campaign_id, final)
    return 0 if final["status"] == "Completed" else 1


def _detail(key: str, value: Any, total: int) -> str:
    if key == "index" and isinstance(value, int):
        return contact_words(value, total)  # people count contacts from 1
    return f"{key}={value:.2f}" if isinstance(value, float) else f"{key}={value}"


async def _audit(demo: _Demo, campaign_id: str, final: dict[str, Any]) -> None:
    page = await demo.api("GET", f"/campaigns/{campaign_id}/events?limit=1000")
    events = page["items"] if isinstance(page, dict) else page
    print(f"\naudit trail ({len(events)} events):")
    for event in events:
        data = event["data"]
        detail = ", ".join(
            _detail(k, data[k], final["total"])
            for k in ("index", "outcome", "reason", "detail", "seconds", "automatic")
            if k in data and data[k] not in (None, "")
        )
        if event["type"] == "CampaignScheduled":
            detail = f"{data['name']!r}, {data['audience']['size']} contacts"
        print(f"  v{event['version']:<4} {event['type']:<20} {detail}")
    ledger = (await demo.control("GET", "/ledger"))["entries"]
    per_chat = Counter(entry["chat_id"] for entry in ledger)
    print(
        f"\nthe simulator accepted {len(ledger)} messages for {len(per_chat)} chats "
        f"(most to one chat: {max(per_chat.values(), default=0)}); "
        f"campaign {final['status']}: sent {final['sent']}, failed {final['failed']}, "
        f"in doubt {final['in_doubt']}"
    )
    print(f"finished at {demo.clock.now():%H:%M:%S} UTC. No message left this machine.")
