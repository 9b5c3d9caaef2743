"""The operator console: server-rendered pages over the same application the API serves."""
