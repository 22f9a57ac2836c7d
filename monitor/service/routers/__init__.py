"""One router per resource; pages.py renders the dashboard."""
