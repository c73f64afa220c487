"""Folder → list of image records: recursive, natural order, problems reported not raised.

A microscope export folder can hold tens of thousands of files, odd names, links
and junk written by file managers. :func:`scan_folder` lists it with
:func:`os.scandir` (the file type comes with the directory entry, so only image
files are stat-ed, once, for their size) and never raises for what it finds
inside: a sub-folder it cannot list goes into ``ScanResult.skipped``. Every entry that is not
hidden or file-manager junk is accounted for: an image file becomes a record (classified, or an
error row), anything else a named entry in ``skipped``, where what was left out on purpose (a
file of another type, a folder reached again through a link) is told apart from what could not
be read (:attr:`ScanResult.unreadable`).
"""

from __future__ import annotations

import dataclasses
import os
import re
import stat
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from hemoapp.core.imageio import IMAGE_EXTENSIONS

#: Names that file managers and archivers leave behind (compared case-insensitively).
JUNK_NAMES: frozenset[str] = frozenset({"thumbs.db", "desktop.ini", ".ds_store", "__macosx"})

# Windows' "hidden" attribute; st_file_attributes exists only there.
_FILE_ATTRIBUTE_HIDDEN = 0x2

_DIGITS = re.compile(r"(\d+)")


class FolderError(Exception):
    """The folder itself cannot be scanned (missing, not a folder, unreadable)."""


@dataclass(frozen=True)
class ImageRecord:
    """One image file found by a scan.

    Attributes:
        path: where to read the file.
        relpath: the path relative to the scanned folder, with ``/`` separators,
            always encodable as UTF-8 (undecodable bytes appear as ``\\xNN``); for
            display and the CSV, not for opening the file.
        size_bytes: the file size when it was listed (0 if it could not be read,
            e.g. a broken link).
        mtime_ns: the file's modification time when it was listed, in nanoseconds
            (0 if it could not be read); with the size, it tells a later scan whether
            the file was replaced (:mod:`hemoapp.core.folder_changes`).
    """

    path: Path
    relpath: str
    size_bytes: int
    mtime_ns: int = 0


@dataclass
class ScanResult:
    """What a scan found.

    Attributes:
        root: the scanned folder.
        records: image files in natural order.
        skipped: ``(relpath, reason)`` for every entry that is not a record: those that
            could not be listed and those left out on purpose (:attr:`left_out`).
    """

    root: Path
    records: list[ImageRecord] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def left_out(self) -> list[tuple[str, str]]:
        """The entries of ``skipped`` left out on purpose (a file that is not an image type HemoLens
        reads, a folder reached again through a link): nothing in them went unread."""
        return [entry for entry in self.skipped if entry[1] in LEFT_OUT_REASONS]

    @property
    def unreadable(self) -> list[tuple[str, str]]:
        """The entries of ``skipped`` that could not be read (not left out on purpose)."""
        return [entry for entry in self.skipped if entry[1] not in LEFT_OUT_REASONS]


#: Why a file of another type is not classified (HemoLens reads only the types of
#: :data:`~hemoapp.core.imageio.IMAGE_EXTENSIONS`).
NOT_AN_IMAGE_TYPE = "not an image file type"

#: Why a folder is not scanned again.
ALREADY_SCANNED = "folder already scanned (a link back into the tree)"

#: The reasons of entries skipped on purpose; every other reason is something that could not be read.
LEFT_OUT_REASONS: frozenset[str] = frozenset({NOT_AN_IMAGE_TYPE, ALREADY_SCANNED})


def display_text(name: str) -> str:
    """Make a file name safe to show and to write as UTF-8.

    On POSIX, bytes that are not valid UTF-8 reach Python as lone surrogates
    (``os.fsdecode``'s ``surrogateescape``); writing them would raise. They are
    shown as ``\\xNN`` instead, so one odd name never breaks a table or a CSV.
    """
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        return os.fsencode(name).decode("utf-8", "backslashreplace")


def absolute_path(path: str | os.PathLike[str]) -> Path:
    """``path`` made absolute, with ``.`` and ``..`` taken out where that still names the same file.

    Not resolved: a mapped drive or a link keeps the name the user knows. ``hemolens ../cells`` is
    remembered, listed and reported as ``/home/lab/cells``, not ``/home/lab/run/../cells``. The
    parts are only dropped when both spellings name one file (``a/link/..`` is not always ``a``
    when ``link`` is a link), or when nothing is there yet to compare.
    """
    absolute = Path(path).absolute()
    tidy = Path(os.path.normpath(absolute))
    if tidy == absolute:
        return absolute
    try:
        return tidy if os.path.samefile(tidy, absolute) else absolute
    except OSError:  # one of them does not exist (or cannot be reached): keep what was given
        return absolute


def natural_key(name: str) -> tuple:
    """Sort key that orders ``img2`` before ``img10`` (case-insensitive, ties by name).

    ``re.split`` with a capturing group alternates text and digit runs, always
    starting with text, so tuples compare text with text and int with int.
    """
    parts = _DIGITS.split(name)
    key = tuple(int(part) if index % 2 else part.casefold() for index, part in enumerate(parts))
    return key, name


def relpath_key(relpath: str) -> tuple:
    """Sort key of a ``/``-separated relative path: :func:`natural_key` of each part, so the
    order is the scan's (``a/img2`` before ``a/img10``, folders and files by name)."""
    return tuple(natural_key(part) for part in relpath.split("/"))


def _is_ignored(entry: os.DirEntry) -> bool:
    name = entry.name
    if name.startswith(".") or name.casefold() in JUNK_NAMES:
        return True
    if sys.platform == "win32":  # pragma: no cover - Windows only
        try:
            # On Windows scandir already has the attributes: this costs no system call.
            return bool(entry.stat(follow_symlinks=False).st_file_attributes & _FILE_ATTRIBUTE_HIDDEN)
        except OSError:
            return False
    return False


def _is_image_name(name: str) -> bool:
    dot = name.rfind(".")
    return dot > 0 and name[dot:].lower() in IMAGE_EXTENSIONS


def _sorted_entries(path: str) -> list[os.DirEntry]:
    """Entries of one folder in natural order (raises :class:`OSError`)."""
    with os.scandir(path) as iterator:
        entries = list(iterator)
    entries.sort(key=lambda entry: natural_key(entry.name))
    return entries


def _list_dir(path: str, relpath: str, skipped: list[tuple[str, str]]) -> list[os.DirEntry]:
    """Like :func:`_sorted_entries`, but a failure goes into ``skipped``."""
    try:
        return _sorted_entries(path)
    except PermissionError:
        skipped.append((relpath, "permission denied"))
    except OSError as exc:
        # A folder that vanished or a network share that dropped mid-listing.
        skipped.append((relpath, f"cannot list the folder ({exc.strerror or exc})"))
    return []


def _dir_identity(path: str) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _record(entry: os.DirEntry, relpath: str) -> ImageRecord:
    try:
        info = entry.stat()
    except OSError:
        # Broken link or a file that vanished: keep it, so it gets an error row.
        return ImageRecord(path=Path(entry.path), relpath=relpath, size_bytes=0)
    return ImageRecord(path=Path(entry.path), relpath=relpath, size_bytes=info.st_size, mtime_ns=info.st_mtime_ns)


def _walk(root: str, root_entries: list[os.DirEntry], recursive: bool, result: ScanResult) -> Iterator[ImageRecord]:
    root_id = _dir_identity(root)
    visited: set[tuple[int, int]] = {root_id} if root_id else set()
    # A stack of iterators (not recursion): depth-first, entries in natural order,
    # files and sub-folders interleaved as a file manager sorts them by name.
    stack: list[tuple[Iterator[os.DirEntry], str]] = [(iter(root_entries), "")]
    while stack:
        entries, prefix = stack[-1]
        entry = next(entries, None)
        if entry is None:
            stack.pop()
            continue
        if _is_ignored(entry):
            continue
        try:
            # Follows links; free (no stat) for plain entries on Linux and Windows.
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        if is_dir:
            if not recursive:
                continue
            relpath = prefix + display_text(entry.name)
            identity = _dir_identity(entry.path)
            if identity is not None and identity in visited:
                result.skipped.append((relpath, ALREADY_SCANNED))
                continue
            if identity is not None:
                visited.add(identity)
            stack.append((iter(_list_dir(entry.path, relpath, result.skipped)), relpath + "/"))
        elif _is_image_name(entry.name):
            # Regular files, links to files, broken links and special files all
            # become records: the decoder says clearly why a non-file cannot be read.
            yield _record(entry, prefix + display_text(entry.name))
        else:
            # Named, so that no file of the folder goes unmentioned (a .webp once did).
            result.skipped.append((prefix + display_text(entry.name), NOT_AN_IMAGE_TYPE))


def scan_folder(root: str | os.PathLike[str], recursive: bool = True) -> ScanResult:
    """List the image files under ``root``.

    Hidden entries (dot-prefixed, or hidden on Windows) and file-manager junk
    (``Thumbs.db``, ``desktop.ini``, ``.DS_Store``, ``__MACOSX``) are ignored;
    files with an extension in :data:`~hemoapp.core.imageio.IMAGE_EXTENSIONS`
    become records, every other file a :attr:`ScanResult.left_out` entry of ``skipped``. Links to
    files are followed; each folder is entered at most once, so link cycles end.

    Args:
        root: the folder to scan.
        recursive: also scan sub-folders.

    Returns:
        The records in natural order and the entries that could not be listed.

    Raises:
        FolderError: ``root`` is missing, not a folder, or cannot be listed.
    """
    root_str = os.fspath(root)
    try:
        info = os.stat(root_str)
    except FileNotFoundError:
        raise FolderError(f"The folder {display_text(root_str)} does not exist.") from None
    except PermissionError:
        raise FolderError(f"Permission denied for {display_text(root_str)}.") from None
    except OSError as exc:
        raise FolderError(f"Cannot open {display_text(root_str)}: {exc.strerror or exc}.") from None
    if not stat.S_ISDIR(info.st_mode):
        raise FolderError(f"{display_text(root_str)} is not a folder.")
    try:
        root_entries = _sorted_entries(root_str)
    except OSError as exc:
        reason = "permission denied" if isinstance(exc, PermissionError) else (exc.strerror or str(exc))
        raise FolderError(f"Cannot list the folder {display_text(root_str)}: {reason}.") from None
    result = ScanResult(root=Path(root_str))
    result.records = list(_walk(root_str, root_entries, recursive, result))
    return result


def records_from_paths(paths: Iterable[str | os.PathLike[str]]) -> ScanResult:
    """Turn a drag-and-drop mix of files and folders into one scan result.

    ``root`` is the folder that holds all dropped items (or ``Path()`` when they
    share none, e.g. different drives), and every label (``relpath``, the CSV's
    only link back to the file) is relative to it: dropping ``d/a/img1.jpg`` and
    ``d/b/img1.jpg`` gives ``a/img1.jpg`` and ``b/img1.jpg``, never the same label
    twice. A single dropped file keeps its bare name and a single dropped folder
    shows as ``folder/sub/img.jpg``. Without a common parent labels are absolute
    paths. A file reached twice (dropped and inside a dropped folder) is kept
    once. Nothing is raised: missing paths, unreadable folders and non-image
    files go into ``skipped``.

    Args:
        paths: files and folders, in any order.
    """
    paths = [Path(os.fspath(path)) for path in paths]
    result = ScanResult(root=_common_parent(paths))
    seen: set[str] = set()
    records: list[ImageRecord] = []

    def add(record: ImageRecord) -> None:
        key = os.path.normcase(os.path.abspath(record.path))
        if key not in seen:
            seen.add(key)
            records.append(record)

    for path in paths:
        label = _drop_label(path, result.root)
        if path.is_dir():
            try:
                scanned = scan_folder(path)
            except FolderError as exc:
                result.skipped.append((label, str(exc)))
                continue
            for record in scanned.records:
                add(dataclasses.replace(record, relpath=f"{label}/{record.relpath}"))
            result.skipped.extend((f"{label}/{rel}", reason) for rel, reason in scanned.skipped)
        elif not os.path.lexists(path):
            result.skipped.append((label, "not found"))
        elif not _is_image_name(path.name):
            result.skipped.append((label, NOT_AN_IMAGE_TYPE))
        else:
            # Dropped explicitly: kept even if hidden; a broken link gets an error row.
            try:
                info = path.stat()
            except OSError:
                if not os.path.lexists(path):
                    result.skipped.append((label, "not found"))
                    continue
                add(ImageRecord(path=path, relpath=label, size_bytes=0))
                continue
            add(ImageRecord(path=path, relpath=label, size_bytes=info.st_size, mtime_ns=info.st_mtime_ns))
    records.sort(key=lambda record: relpath_key(record.relpath))
    result.records = records
    return result


def _common_parent(paths: list[Path]) -> Path:
    """The deepest folder holding every path (absolute), or ``Path()`` if none."""
    if not paths:
        return Path()
    try:
        return Path(os.path.commonpath([os.path.dirname(os.path.abspath(path)) for path in paths]))
    except ValueError:  # different drives on Windows
        return Path()


def _drop_label(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` with ``/`` separators, else its absolute path.

    Labels must identify the file on their own (two dropped ``img1.jpg`` from
    different folders must not look the same in the CSV), so a path that cannot
    be expressed below ``root`` is shown in full rather than by its bare name.
    """
    absolute = os.path.abspath(path)
    label = absolute
    if root.is_absolute():
        relative = os.path.relpath(absolute, root)
        if relative != os.curdir and relative != os.pardir and not relative.startswith(os.pardir + os.sep):
            label = relative
    return display_text(label.replace(os.sep, "/"))
