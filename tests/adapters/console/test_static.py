"""The console's files: served from the package, vendored htmx pinned by its checksums."""

from __future__ import annotations

import hashlib
import re

from adapters.console.mount import STATIC_DIR
from tests.adapters.console.conftest import Client, create, finish_runs

VENDORED = STATIC_DIR / "vendor" / "htmx"
_EXTERNAL = re.compile(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}")


def test_the_vendored_files_are_the_ones_pinned_in_vendored_md() -> None:
    pinned = (VENDORED / "VENDORED.md").read_text()
    listed = {
        name: digest
        for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+)$", pinned, re.MULTILINE)
    }
    on_disk = {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in VENDORED.iterdir()
        if path.name != "VENDORED.md"
    }

    assert listed == on_disk
    assert "Zero-Clause BSD" in (VENDORED / "LICENSE").read_text()
    assert 'version:"2.0.11"' in (VENDORED / "htmx.min.js").read_text().replace(" ", "")


async def test_the_script_and_stylesheet_are_served_to_anyone(browser: Client) -> None:
    script = await browser.get("/ui/static/vendor/htmx/htmx.min.js")
    style = await browser.get("/ui/static/console.css")

    assert script.status == 200
    assert script.content_type in {"application/javascript", "text/javascript"}
    assert style.status == 200
    assert style.content_type == "text/css"


async def test_no_page_names_another_host(signed_in: Client) -> None:
    created = await create(signed_in)
    await finish_runs(signed_in)
    pages = [
        "/ui/",
        f"/ui/campaigns/{created['id']}",
        "/ui/campaigns/new",
        "/ui/sessions",
        "/ui/sessions/default/settings",
        "/ui/opt-outs",
        "/ui/audit",
    ]

    for path in pages:
        text = await (await signed_in.get(path)).text()
        assert _EXTERNAL.search(text) is None, path
    css = (STATIC_DIR / "console.css").read_text()
    assert "@import" not in css
    assert _EXTERNAL.search(css) is None
