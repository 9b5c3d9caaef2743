"""Pure campaign model: no I/O, no clock, no asyncio."""
