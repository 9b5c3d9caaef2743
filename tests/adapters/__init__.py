"""Tests of the adapters: each against the library or server it wraps."""
