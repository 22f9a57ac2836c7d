"""Detection stage: zone masks, motion on the luma plane, and privacy masking of frames."""

from monitor.detect.motion import MotionDetector, MotionObservation
from monitor.detect.privacy import PrivacyMasker
from monitor.detect.zones import ZoneMasks

__all__ = ["MotionDetector", "MotionObservation", "PrivacyMasker", "ZoneMasks"]
