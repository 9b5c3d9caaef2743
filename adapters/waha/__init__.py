"""WAHA, the WhatsApp HTTP API: the client the runner uses and a faithful simulator."""
