"""Receivers on loopback for the delivery tests."""

from tests.fixtures.receivers import (  # noqa: F401
    mosquitto,
    mosquitto_tls,
    smtp_server,
    smtp_starttls,
    webhook,
)
