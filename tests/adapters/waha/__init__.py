"""Tests of the WAHA adapter: wire against samples, the client against aioresponses."""
