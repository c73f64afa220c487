"""Replace a file only with a complete, flushed new one: how HemoLens writes every file.

CSVs, the summary, the agreement, the report PDF, review files, the exported model
and its card, and training's run files all go through :func:`atomic_path` (or the
helpers built on it). The new content is written to a temporary file in the target's
own folder (same file system, so :func:`os.replace` is an atomic rename), checked
(the caller's ``validate``, e.g. that a PDF ends with ``%%EOF``: Qt's PDF writer
reports no write error on a full disk), flushed to the disk with ``os.fsync``, and
only then renamed over the target; the folder is fsynced too where the platform
allows it, so the rename itself survives a power cut. Any failure (a full disk, a
file too large, a write error, a failed check, an interruption) removes the
temporary file, leaves the old file as it was and raises: an :class:`OSError`,
which every caller turns into a message the user sees.

Temporary files are called ``.NAME.hemolens-XXXXXXXX.tmp`` (hidden, ignored by the
folder scan, and recognisably HemoLens's). A process killed while writing (kill -9,
a power cut) cannot remove its own, so each write first removes the leftovers *for
its own target* that are stale (:func:`remove_stale_temp_files`): no live process
holds them (a writer keeps a lock on its temporary file until the rename; the
kernel drops the lock when the process dies), and they have not been modified for
:data:`STALE_AFTER_S` seconds. Nobody else's files, and no other target's, are touched.
"""

from __future__ import annotations

import errno
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO

#: Marks HemoLens's temporary files: ``.NAME.hemolens-XXXXXXXX.tmp``.
TEMP_TAG = "hemolens"

#: A leftover temporary file no process holds is removed once unmodified this long (seconds).
#: A live writer holds its lock, so this only covers the instant between creating the file
#: and locking it, and writers that put a new file at the temporary path.
STALE_AFTER_S = 10.0

#: Where a lock cannot be taken at all (a file system without locks), only leftovers this old
#: (seconds; a day) count as stale: no HemoLens write takes that long.
STALE_UNLOCKABLE_AFTER_S = 24 * 3600.0

#: Format suffixes a temporary name may end with, for writers that pick the format from the
#: name (Keras: ``.keras``) or append one (numpy: ``.npy``). A fixed list, so that the
#: leftover pattern matches nothing but HemoLens's own names.
TEMP_SUFFIXES = ("", ".keras", ".npy")

#: A check of the written temporary file; raises (e.g. :class:`IncompleteWriteError`) when it is not whole.
Validator = Callable[[Path], None]

try:  # POSIX: an advisory lock says "a live process is writing this"
    import fcntl
except ImportError:  # Windows: a file still open cannot be removed, which says the same
    fcntl = None  # type: ignore[assignment]


class IncompleteWriteError(OSError):
    """The new file failed its check (e.g. a PDF without its end): nothing was replaced."""

    def __init__(self, reason: str, path: str | os.PathLike[str]) -> None:
        super().__init__(errno.EIO, reason, str(path))


def temp_prefix(target: str | os.PathLike[str]) -> str:
    """The start of every temporary file's name for ``target``: ``.NAME.hemolens-``."""
    return f".{Path(target).name}.{TEMP_TAG}-"


@contextmanager
def atomic_path(
    target: str | os.PathLike[str],
    *,
    suffix: str = "",
    validate: Validator | None = None,
    mode: int | None = None,
    make_parents: bool = False,
) -> Iterator[Path]:
    """A temporary file's path beside ``target``, renamed over ``target`` if the block completes.

    For writers that open the file themselves (Qt's PDF writer, Keras, numpy); the block
    writes the temporary file and closes it. Then ``validate`` checks it, it is fsynced,
    given its mode and renamed over ``target``.

    Args:
        target: the file to (over)write.
        suffix: appended to the temporary name, one of :data:`TEMP_SUFFIXES`, for writers
            that pick a format from it or append one.
        validate: raises when the written file is not whole (nothing is replaced then).
        mode: permission bits of the new file; default: the old file's, else what a
            plain ``open()`` gives (``0o666`` less the umask).
        make_parents: create the target's folder first.

    Raises:
        OSError: the file could not be written, or failed ``validate``
            (:class:`IncompleteWriteError`); ``target`` is untouched and no temporary file is left.
    """
    if suffix not in TEMP_SUFFIXES:
        raise ValueError(f"temporary files end in one of {TEMP_SUFFIXES}, not {suffix!r}")
    target = Path(target)
    if make_parents:
        target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_files(target)
    descriptor, name = tempfile.mkstemp(prefix=temp_prefix(target), suffix=f".tmp{suffix}", dir=target.parent)
    temporary = Path(name)
    lock: int | None = descriptor
    try:
        _lock(descriptor)
        yield temporary
        if sys.platform == "win32":  # Windows renames no file that is still open
            os.close(descriptor)
            lock = None
        if validate is not None:
            validate(temporary)
        _fsync_file(temporary)  # the data must be on the disk before the rename can be
        os.chmod(temporary, _target_mode(target) if mode is None else mode)  # mkstemp makes it private (0600)
        os.replace(temporary, target)
    except BaseException:
        with suppress(OSError):
            os.unlink(temporary)
        raise
    finally:
        if lock is not None:
            os.close(lock)
    _fsync_directory(target.parent)


@contextmanager
def atomic_open(
    target: str | os.PathLike[str],
    mode: str = "w",
    *,
    encoding: str | None = "utf-8",
    newline: str | None = "",
    validate: Validator | None = None,
    make_parents: bool = False,
) -> Iterator[IO]:
    """An open temporary file beside ``target`` (``mode`` ``"w"`` or ``"wb"``), renamed over it on success.

    The file is flushed on closing and fsynced by :func:`atomic_path` before the rename,
    so a write error (a full disk) is raised here, before anything is replaced. Other
    arguments as :func:`atomic_path`; ``encoding`` and ``newline`` apply to text mode only.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes new files: mode 'w' or 'wb', not {mode!r}")
    text = {"encoding": encoding, "newline": newline} if mode == "w" else {}
    with atomic_path(target, validate=validate, make_parents=make_parents) as temporary:
        with open(temporary, mode, **text) as handle:
            yield handle


def write_bytes(target: str | os.PathLike[str], data: bytes, *, make_parents: bool = False,
                mode: int | None = None) -> Path:
    """Replace ``target`` with ``data``, atomically (see :func:`atomic_path`); return the path."""

    def whole(path: Path) -> None:
        if path.stat().st_size != len(data):
            raise IncompleteWriteError(f"only {path.stat().st_size} of {len(data)} bytes were written", path)

    with atomic_path(target, validate=whole, make_parents=make_parents, mode=mode) as temporary:
        with open(temporary, "wb") as handle:
            handle.write(data)
    return Path(target)


def write_text(target: str | os.PathLike[str], text: str, encoding: str = "utf-8", *,
               make_parents: bool = False) -> Path:
    """Replace ``target`` with ``text``, atomically (see :func:`atomic_path`); return the path."""
    return write_bytes(target, text.encode(encoding), make_parents=make_parents)


def remove_stale_temp_files(target: str | os.PathLike[str], now: float | None = None) -> list[Path]:
    """Remove the temporary files that killed writes of ``target`` left beside it; return those removed.

    Only HemoLens's own names for this very target (``.NAME.hemolens-XXXXXXXX.tmp``,
    or with a suffix of :data:`TEMP_SUFFIXES`) are candidates, and of those only the ones no live
    process holds and nobody has modified for :data:`STALE_AFTER_S` seconds. Removing
    one that a writer somewhere still wanted would make that writer's rename fail
    with an error it reports: never a lost or mixed file. Problems are ignored: this
    is tidying, and must never stop a write.
    """
    target = Path(target)
    suffixes = "|".join(re.escape(suffix) for suffix in TEMP_SUFFIXES)
    pattern = re.compile(re.escape(temp_prefix(target)) + rf"[a-z0-9_]+\.tmp(?:{suffixes})")
    now = time.time() if now is None else now
    removed = []
    try:
        entries = [entry for entry in os.scandir(target.parent) if pattern.fullmatch(entry.name)]
    except OSError:
        return removed
    for entry in entries:
        with suppress(OSError):
            age = now - entry.stat(follow_symlinks=False).st_mtime
            if entry.is_file(follow_symlinks=False) and age >= STALE_AFTER_S and _remove_if_unheld(entry.path, age):
                removed.append(Path(entry.path))
    return removed


def _remove_if_unheld(path: str, age: float) -> bool:
    """Remove ``path`` unless a live process holds it; True when removed."""
    if fcntl is None:
        os.unlink(path)  # fails (PermissionError) while its writer has it open
        return True
    descriptor = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # its writer is alive
        except OSError:  # no locks on this file system: go by age alone
            if age < STALE_UNLOCKABLE_AFTER_S:
                return False
        os.unlink(path)
        return True
    finally:
        os.close(descriptor)


def _lock(descriptor: int) -> None:
    """Mark the temporary file as being written, for :func:`remove_stale_temp_files` elsewhere."""
    if fcntl is not None:
        with suppress(OSError):  # a file system without locks: the age rule still protects it
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _fsync_file(path: Path) -> None:
    # Reopened rather than the caller's handle: Qt and Keras write through their own.
    # Windows flushes only handles open for writing.
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def _fsync_directory(folder: Path) -> None:
    """Make the rename durable; best effort (Windows cannot open folders, some file systems refuse)."""
    if sys.platform == "win32":
        return
    with suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _target_mode(path: Path) -> int:
    try:
        return os.stat(path).st_mode & 0o777
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    # os.umask() can only be read by setting it, which races with other threads;
    # Linux shows it in /proc. Elsewhere assume the usual 022.
    with suppress(OSError, ValueError):
        status = Path("/proc/self/status").read_text()
        match = re.search(r"^Umask:\s*([0-7]+)", status, re.MULTILINE)
        if match:
            return int(match.group(1), 8)
    return 0o022
