"""Persistence for alerts and clips (the custody log lives in ``evidence``)."""
