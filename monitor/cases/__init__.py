"""Investigations: cases across cameras, the incident timeline, the report and the case bundle."""
