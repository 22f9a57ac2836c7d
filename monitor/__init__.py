"""Hotspot Monitor: capture -> detect -> record -> seal -> serve."""
