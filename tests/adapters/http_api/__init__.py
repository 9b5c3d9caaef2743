"""Tests of the HTTP API and its webhook via aiohttp_client on make_app, with the fakes."""
