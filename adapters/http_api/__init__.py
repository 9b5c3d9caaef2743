"""The HTTP API: campaigns, audit, media, WAHA's webhooks, health and metrics over aiohttp."""
