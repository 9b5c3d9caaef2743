"""WAHA, the WhatsApp HTTP API: the client the runner uses (its simulator: adapters.waha_simulator).

`wire` is the sans-I/O part (requests, replies, webhooks: what to ask and what an answer means);
`client.AiohttpWahaGateway` is the WahaGateway port over one aiohttp ClientSession.
"""
