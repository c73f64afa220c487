"""Time the search for a moved folder's reviews among those saved for other paths.

A folder opened for the first time at a path reads the reviews saved for the most
recently saved folders (:meth:`hemoapp.core.review_store.ReviewStore.saved_elsewhere`),
on the window's thread, before its first results show. This builds a store of
``--folders`` saved folders with ``--reviews`` reviews each and times the search::

    python benchmarks/bench_review_search.py                          # 1,000 folders x 50 reviews
    python benchmarks/bench_review_search.py --folders 5000 --reviews 15
    python benchmarks/bench_review_search.py --same-names             # worst case, see below

With ``--same-names`` every saved folder uses the opened folder's file names (an
analyser that names each export's cells ``cell_00001.jpg`` onwards), so every review
of every folder read must be parsed; otherwise names differ, as PBC's do.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import statistics
import tempfile
import time
from pathlib import Path

from hemoapp.core.review import Review
from hemoapp.core.review_store import ELSEWHERE_LIMIT, ReviewStore


def build_store(directory: Path, folders: int, reviews: int, same_names: bool) -> ReviewStore:
    """A store of ``folders`` saved folders with ``reviews`` distinct reviewed files each."""
    store = ReviewStore(directory / "reviews")
    at = dt.datetime(2026, 11, 24, tzinfo=dt.timezone.utc)
    for folder in range(folders):
        prefix = "cell" if same_names else f"f{folder}"
        saved = {
            (f"{prefix}_{cell:05d}.jpg", hashlib.sha256(f"{folder}/{cell}".encode()).hexdigest()): Review(
                "neutrophil", at, "jdoe"
            )
            for cell in range(reviews)
        }
        store.save(directory / f"folder{folder}", saved)
    return store


def main() -> None:
    """Build the store, then print the search time of ``--runs`` searches."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folders", type=int, default=1000, help="saved folders (default 1000)")
    parser.add_argument("--reviews", type=int, default=50, help="reviews per saved folder (default 50)")
    parser.add_argument("--cells", type=int, default=1000, help="files in the opened folder (default 1000)")
    parser.add_argument("--same-names", action="store_true", help="saved folders use the opened folder's names")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = build_store(Path(tmp), args.folders, args.reviews, args.same_names)
        size = sum(path.stat().st_size for path in store.directory.iterdir())
        relpaths = [f"cell_{cell:05d}.jpg" for cell in range(args.cells)]
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            found = store.saved_elsewhere(Path(tmp) / "opened", relpaths)
            times.append(time.perf_counter() - start)
    read = min(args.folders, ELSEWHERE_LIMIT)
    print(
        f"{args.folders} saved folders x {args.reviews} reviews ({size / 1e6:.1f} MB; the {read} latest read), "
        f"opened folder of {args.cells} files{', same names' if args.same_names else ''}: "
        f"median {statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms "
        f"over {args.runs} runs; {len(found)} reviews matched by name"
    )


if __name__ == "__main__":
    main()
