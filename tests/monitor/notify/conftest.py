"""Receivers on loopback for the delivery tests."""

from tests.fixtures.receivers import mosquitto, smtp_server, webhook  # noqa: F401
