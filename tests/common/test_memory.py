"""A node process pins glibc's mmap threshold, so a TLS connection's 256 KiB read buffer stays a mapping of its own
after another was freed (issue 18, round 4; common/memory.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from common.memory import mapped_bytes

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import sys
from common.memory import mapped_bytes, pin_mmap_threshold
if sys.argv[1] == "pinned":
    assert pin_mmap_threshold()
first = bytearray(256 * 1024)
del first  # unpinned, glibc now raises its threshold above 256 KiB
before = mapped_bytes()
second = bytearray(256 * 1024)
print(mapped_bytes() - before >= 256 * 1024)
"""


@pytest.mark.skipif(mapped_bytes() is None, reason="needs glibc 2.33+ (mallinfo2)")
def test_a_freed_tls_sized_buffer_does_not_move_the_next_one_to_the_heap_once_pinned() -> None:
    def mapped(mode: str) -> str:
        return subprocess.run([sys.executable, "-c", SCRIPT, mode], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()

    assert mapped("default") == "False"  # glibc's dynamic threshold, what the nodes had before
    assert mapped("pinned") == "True"
