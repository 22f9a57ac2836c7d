"""Large blocks go back to the system when a process that records clips frees them.

glibc serves an allocation above its mmap threshold with a mapping of its own and unmaps it on
free, but it raises the threshold to the size of the largest such block freed so far (up to
32 MiB on 64-bit). Once a clip's encoder had been freed, the next clip's 6-10 MiB encoder
frames came from the heap, which keeps freed memory wherever a smaller block still sits above
it: a 1080p worker splitting a long event into clips swung between 134 and 181 MiB.

Setting the threshold stops the adjustment. What it costs is a mapping and fresh zeroed pages
per large allocation; a camera worker makes those when a clip, an encoder or a decoder starts,
not per frame (frame buffers come from FFmpeg's pools and our reused arrays).
"""

from __future__ import annotations

import ctypes

M_MMAP_THRESHOLD = -3  # from glibc's malloc.h
MMAP_THRESHOLD = 128 * 1024  # glibc's starting value, kept fixed


def fix_mmap_threshold() -> bool:
    """Keep glibc's mmap threshold at its starting value; False where the C library has no
    ``mallopt`` or refuses it (not glibc), which leaves its own policy in place."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))
