"""A WAHA stand-in for the demo, the end-to-end tests and the benchmarks: not a real WAHA.

It answers WAHA's HTTP API in the status codes and body shapes recorded from a real server
(tests/contract checks it against them), and adds controls under `/_simulator` to steer it:
statuses, faults, the ledger of what was sent, inbound messages, account limits. Build it with
`make_simulator_app(SimulatorConfig(...))`; its state is `app[SIMULATOR_KEY]`, a `WahaSimulator`.

Being a double of WAHA, it knows nothing of this project: it imports only aiohttp, the standard
library and `adapters.system`, never the client in `adapters.waha` (import-linter holds both).
"""

from __future__ import annotations

from adapters.waha_simulator.config import SimulatorConfig, StatusStep
from adapters.waha_simulator.faults import Endpoint, Fault, FaultKind
from adapters.waha_simulator.messages import InboundMessage, LedgerEntry
from adapters.waha_simulator.sends import SendRecord
from adapters.waha_simulator.server import make_simulator_app
from adapters.waha_simulator.state import SIMULATOR_KEY, WahaSimulator
from adapters.waha_simulator.webhooks import sign

__all__ = [
    "SIMULATOR_KEY",
    "Endpoint",
    "Fault",
    "FaultKind",
    "InboundMessage",
    "LedgerEntry",
    "SendRecord",
    "SimulatorConfig",
    "StatusStep",
    "WahaSimulator",
    "make_simulator_app",
    "sign",
]
