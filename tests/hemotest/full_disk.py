"""A full disk without root: a file-size limit (``RLIMIT_FSIZE``) makes writes past it fail.

With ``SIGXFSZ`` ignored, a write past the limit fails with ``EFBIG`` as a write to a
full disk fails with ``ENOSPC``: the same short write, the same silence from writers
that do not check (Qt's PDF writer). POSIX only; tests skip elsewhere.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

resource = pytest.importorskip("resource", reason="RLIMIT_FSIZE is POSIX only")


def limit_file_size(limit_bytes: int) -> None:
    """Make every file this process writes stop at ``limit_bytes`` (a ``preexec_fn`` for a subprocess)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write (EFBIG) instead of killing the process
    _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, hard))


@contextmanager
def file_size_limit(limit_bytes: int) -> Iterator[None]:
    """While active, no file of this process (any thread) can grow past ``limit_bytes``: a full disk."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
