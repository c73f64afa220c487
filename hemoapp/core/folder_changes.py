"""Has the opened folder changed since it was classified? Two scans compared.

The results and counts describe the image files as the batch's scan listed them. An
analyser still writing its export, or a person adding, replacing or deleting a file,
changes the folder under them, and nothing in the results would say so: a
differential counted before the last cells arrived looks complete. Comparing a new
scan with the batch's (each image file's relative path, size and modification time)
finds such a change without reading a single image.

A file written while the batch was being classified counts as changed even if the
batch read its final bytes: classifying again costs seconds, a count that silently
misses a file costs a wrong report.
"""

from __future__ import annotations

from dataclasses import dataclass

from hemoapp.core.scan import ScanResult

#: File names a warning shows before it only counts the rest.
NAMES_SHOWN = 3


@dataclass(frozen=True)
class FolderChanges:
    """Image files that differ between the batch's scan and a later one (relative paths).

    Attributes:
        added: files that are new since the batch's scan.
        removed: files the batch listed that are no longer there.
        modified: files whose size or modification time has changed.
    """

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    modified: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.modified)

    def counts_text(self) -> str:
        """E.g. "3 new image files, 1 changed and 2 no longer there" ("" when nothing changed)."""
        parts = []
        if self.added:
            parts.append(f"{len(self.added)} new image file{'s' if len(self.added) != 1 else ''}")
        if self.modified:
            noun = "" if parts else f" image file{'s' if len(self.modified) != 1 else ''}"
            parts.append(f"{len(self.modified)}{noun} changed")
        if self.removed:
            noun = "" if parts else f" image file{'s' if len(self.removed) != 1 else ''}"
            parts.append(f"{len(self.removed)}{noun} no longer there")
        if len(parts) > 1:
            return f"{', '.join(parts[:-1])} and {parts[-1]}"
        return parts[0] if parts else ""

    def examples_text(self) -> str:
        """The first few files concerned, new ones first, e.g. "(cell_0101.jpg, cell_0102.jpg, … 5 more)"."""
        names = [*self.added, *self.modified, *self.removed]
        shown = ", ".join(names[:NAMES_SHOWN])
        more = f", … {len(names) - NAMES_SHOWN} more" if len(names) > NAMES_SHOWN else ""
        return f"({shown}{more})" if names else ""

    def warning(self) -> str:
        """The sentence the window and the report show ("" when nothing changed)."""
        if not self:
            return ""
        return (
            f"The folder has changed since it was classified: {self.counts_text()} {self.examples_text()}. "
            "The results and counts describe the files as they were when the batch started."
        )


def folder_changes(before: ScanResult, after: ScanResult) -> FolderChanges:
    """What differs between the batch's scan (``before``) and a later scan of the same source.

    A file counts as modified when its size or its modification time differs; the
    order of the lists is each scan's (natural) order.
    """
    old = {record.relpath: (record.size_bytes, record.mtime_ns) for record in before.records}
    new = {record.relpath: (record.size_bytes, record.mtime_ns) for record in after.records}
    return FolderChanges(
        added=tuple(path for path in new if path not in old),
        removed=tuple(path for path in old if path not in new),
        modified=tuple(path for path, stamp in new.items() if path in old and old[path] != stamp),
    )
