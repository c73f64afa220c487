"""What the benchmarks share: the test folders and the bare-inference reference rate.

Absolute rates on a shared 2-core machine swing by almost 2x between runs (other jobs,
thermal state), so every end-to-end figure is printed beside the bare inference rate of
the same model measured in the same run, before and after it: the shipped ``.tflite`` on
random uint8 input of the model's shape, the classifier's thread count, batches of 32,
no decoding, no Python per image. The ratio ``end to end / bare`` is what compares
between machines and runs (issue 44).

Folders:

* ``originals``: N copies of the 64 full-size analyser exports of
  ``../shared/datasets/pbc8-originals`` (360 x 363 px JPEG, what a lab exports);
* ``224``: N files of ``../shared/datasets/pbc8/train`` (resized to 224 px by the dataset's
  makers), linked over and over.

The folders live in a temporary directory only; no dataset image is ever written into the
repository.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

DATASETS = REPO_ROOT.parent / "shared" / "datasets"
ORIGINALS = DATASETS / "pbc8-originals"
PBC_224 = DATASETS / "pbc8" / "train"

#: Folder kinds the benchmarks take (``--inputs``).
SOURCES: dict[str, Path] = {"originals": ORIGINALS, "224": PBC_224}

#: Batch of the reference measurement (the pipeline's default batch).
REFERENCE_BATCH = 32


def source_files(source: Path) -> list[Path]:
    """The JPEGs of ``source`` (class folders, or flat), sorted."""
    files = sorted(p for p in source.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png") and p.is_file())
    if not files:
        raise SystemExit(f"no images under {source}")
    return files


def build_folder(source: Path, target: Path, count: int, copy: bool) -> None:
    """Fill ``target`` with ``count`` files cycling over the images of ``source`` (1,000 per sub-folder).

    ``copy`` makes real copies (each file is its own inode, as in a lab's export); otherwise
    symbolic links.
    """
    files = source_files(source)
    for index in range(count):
        original = files[index % len(files)]
        folder = target / f"part{index // 1000:03d}"
        if index % 1000 == 0:
            folder.mkdir(parents=True)
        destination = folder / f"{index:06d}_{original.name}"
        if copy:
            shutil.copyfile(original, destination)
        else:
            os.symlink(original, destination)


@contextmanager
def bench_folder(kind: str, count: int, source: Path | None = None):
    """A temporary folder of ``count`` images of ``kind`` (see :data:`SOURCES`); yields its path.

    Originals are copied (they are small: 64 files, 1.2 MB), the 224 px set is linked.
    """
    source = source or SOURCES[kind]
    with tempfile.TemporaryDirectory(prefix=f"hemolens-bench-{kind}-") as temporary:
        folder = Path(temporary) / "images"
        build_folder(source, folder, count, copy=(kind == "originals"))
        yield folder


@dataclass(frozen=True)
class BareRate:
    """Bare inference of one model: images per second over ``rounds`` timed rounds."""

    rates: tuple[float, ...]
    threads: int
    batch: int

    @property
    def median(self) -> float:
        return statistics.median(self.rates)

    def summary(self) -> str:
        spread = f"{min(self.rates):.0f}-{max(self.rates):.0f}" if len(self.rates) > 1 else f"{self.rates[0]:.0f}"
        return f"{self.median:.0f} images/s (rounds {spread}; {self.threads} threads, batch {self.batch})"


def bare_inference_rate(
    model_path: str | os.PathLike[str], threads: int, batch: int = REFERENCE_BATCH,
    images: int = 1024, rounds: int = 3, seed: int = 0,
) -> BareRate:
    """Images/s of the model alone: random uint8 input of its shape, ``threads`` threads, ``batch`` a call.

    A fresh LiteRT interpreter on the same file (the classifier's own is left alone), one
    warm-up call, then ``rounds`` rounds of ``images`` images each; the input is made
    before the clock starts. What no pipeline can beat on this machine now.
    """
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=Path(model_path).read_bytes(), num_threads=threads)
    detail = interpreter.get_input_details()[0]
    size = int(detail["shape"][1])
    interpreter.resize_tensor_input(detail["index"], [batch, size, size, 3], strict=True)
    interpreter.allocate_tensors()
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, size=(batch, size, size, 3), dtype=np.uint8).astype(detail["dtype"])
    output = interpreter.get_output_details()[0]["index"]
    interpreter.set_tensor(detail["index"], data)
    interpreter.invoke()  # warm-up
    calls = max(1, images // batch)
    rates = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            interpreter.set_tensor(detail["index"], data)
            interpreter.invoke()
            interpreter.get_tensor(output)
        rates.append(calls * batch / (time.perf_counter() - start))
    return BareRate(tuple(rates), threads, batch)


class Reference:
    """Bare inference measured before and after the end-to-end runs; ratios against their mean.

    ::

        reference = Reference(model_path, threads)
        reference.measure("before")
        ...  # end-to-end runs
        reference.measure("after")
        print(reference.ratio(rate))
    """

    def __init__(self, model_path: str | os.PathLike[str], threads: int, images: int = 1024) -> None:
        self.model_path = Path(model_path)
        self.threads = threads
        self.images = images
        self.measured: dict[str, BareRate] = {}

    def measure(self, when: str) -> BareRate:
        rate = bare_inference_rate(self.model_path, self.threads, images=self.images)
        self.measured[when] = rate
        print(f"bare inference ({when}): {rate.summary()}", flush=True)
        return rate

    @property
    def rate(self) -> float:
        """The reference rate: the mean of the medians measured so far."""
        if not self.measured:
            raise RuntimeError("no bare inference measured yet")
        return statistics.fmean(r.median for r in self.measured.values())

    def ratio(self, rate: float) -> float:
        return rate / self.rate

    def describe(self, rate: float) -> str:
        """``"312 images/s = 0.93 of bare inference (335)"``."""
        return f"{rate:.0f} images/s = {self.ratio(rate):.2f} of bare inference ({self.rate:.0f})"

    def summary(self) -> str:
        parts = ", ".join(f"{when} {r.median:.0f}" for when, r in self.measured.items())
        return f"bare inference {self.rate:.0f} images/s ({parts}; {self.threads} threads, batch {REFERENCE_BATCH})"

    def as_dict(self) -> dict:
        return {when: {"rates": list(r.rates), "median": r.median} for when, r in self.measured.items()}


def conditions() -> str:
    """The machine and its load now (printed beside every figure)."""
    try:
        load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        load = "n/a"
    return f"{os.cpu_count()} CPUs, load average {load}, {time.strftime('%Y-%m-%d %H:%M %Z')}"


@contextmanager
def framed_model(model_path: str | os.PathLike[str], framing: str):
    """The model at ``model_path`` with its card saying ``framing``, in a temporary folder (yields the path).

    For measuring the pipeline with cell-centred framing on the shipped model: the model's
    bytes are copied unchanged (the card's sha256 still matches), only the card's
    ``preprocessing.framing`` is set. The result of such a model is meaningless; its speed
    is the pipeline's.
    """
    from hemoapp.core.classifier import card_path_for
    from hemoapp.core.contract import FRAMING_CENTRE_CROP

    model_path = Path(model_path)
    if framing == FRAMING_CENTRE_CROP:
        yield model_path
        return
    with tempfile.TemporaryDirectory(prefix="hemolens-bench-model-") as temporary:
        target = Path(temporary) / model_path.name
        shutil.copyfile(model_path, target)
        card = json.loads(card_path_for(model_path).read_text(encoding="utf-8"))
        card["preprocessing"]["framing"] = framing
        card_path_for(target).write_text(json.dumps(card, indent=2), encoding="utf-8")
        yield target
