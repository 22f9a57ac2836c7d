"""OpenCV on one thread in the processes that run camera pipelines.

Detection works on a 320-pixel thumbnail and masking on single planes: OpenCV's thread pool
spends more CPU waking its threads than it saves there (0.9 ms of CPU per analysed 720p frame
with two threads, 0.56 ms with one), and cameras already run in parallel as processes.
"""

from __future__ import annotations

import cv2


def one_opencv_thread() -> None:
    cv2.setNumThreads(1)
