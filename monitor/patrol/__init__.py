"""Hotspot heat maps and randomized patrol plans: reading the alert and clip history, not
making it."""
