"""How a node process asks glibc for memory: the mmap threshold pinned, so every TLS connection's read buffer is a
mapping of its own.

uvloop gives every TLS connection a 256 KiB read buffer (``SSLProtocol``, ``PyMem_RawMalloc``) into which OpenSSL
writes each decrypted record from the start; an XMPP client's records are a few hundred bytes, so one page of it is
ever touched. Above glibc's mmap threshold (128 KiB at start) such a block is its own mapping, and the pages never
touched are never resident. But glibc raises the threshold to the size of the first mapped block that is freed
(mallopt(3), "M_MMAP_THRESHOLD": the dynamic adjustment), so after the first login's HTTPS connection closed, every
later buffer came from the heap instead, where a block's header and its neighbour's share pages and freed blocks leave
touched pages behind. Setting ``M_MMAP_THRESHOLD`` explicitly turns the adjustment off (mallopt(3)); measured, it
took 2.4 KiB off each XMPP client's cost in Expressway-E (docs/performance.md, "Connected clients (round 4)").
Where the C library is not glibc, nothing changes.
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_MMAP_THRESHOLD = -3  # glibc's malloc.h
GLIBC_DEFAULT_THRESHOLD = 128 * 1024


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name) if name else None
    except OSError:
        return None


def pin_mmap_threshold(threshold: int = GLIBC_DEFAULT_THRESHOLD) -> bool:
    """Fix glibc's mmap threshold at ``threshold`` bytes (its own start value); whether the C library took it."""
    libc = _libc()
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is None or not hasattr(libc, "gnu_get_libc_version"):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, threshold))


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                      "fsmblks", "uordblks", "fordblks", "keepcost")]


def mapped_bytes() -> int | None:
    """Bytes glibc holds in blocks of their own mapping (``mallinfo2().hblkhd``), None without glibc 2.33+."""
    libc = _libc()
    info = getattr(libc, "mallinfo2", None)
    if info is None:
        return None
    info.restype = _MallInfo2
    return int(info().hblkhd)
