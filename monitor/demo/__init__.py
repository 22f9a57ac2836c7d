"""The demo site's video: a rendered hallway with known truth, for the demo camera and tests."""
