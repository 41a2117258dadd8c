"""Settings of a whole process, made where a process starts (``python -m movierec``, the
``movierec`` command, a training worker) and never by a library call inside a shared one such
as the dashboard's server."""

from __future__ import annotations

import ctypes
import sys

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3   # glibc's mallopt parameters


def tune_allocator() -> None:
    """Ask glibc to keep freed memory for reuse instead of handing it back to the kernel after
    every training step. Its defaults return large blocks at once, so each step's new gradient
    and moment buffers arrive as fresh pages that fault in one by one: on 32M ratings with mf,
    a fifth of a step here. No effect on other C libraries."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, 32 * 2**20)   # glibc's largest
        libc.mallopt(_M_TRIM_THRESHOLD, 2**30)
    except (OSError, AttributeError):
        pass
