"""`make demo` stays true: the demo runs a whole campaign through a pause and says where it sent."""

from __future__ import annotations

import asyncio
import re
import sys

import pytest

pytestmark = pytest.mark.e2e


async def test_the_demo_completes_through_a_pause_and_an_automatic_resume() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import sys; from adapters.cli import main; sys.exit(main(['demo']))",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        stdin=asyncio.subprocess.DEVNULL,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    text = output.decode()

    assert process.returncode == 0, text
    assert "WAHA SIMULATOR" in text
    assert re.search(r"console: http://127\.0\.0\.1:\d+/ui/  \(sign in with this demo's", text)
    assert re.search(r"CampaignPaused       contact \d+ of 20 \(index \d+\)", text), text
    assert "reason=session_not_working" in text
    assert "CampaignResumed" in text
    assert "automatic=True" in text
    assert "accepted 20 messages for 20 chats (most to one chat: 1)" in text
