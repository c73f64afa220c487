"""Lab profiles (issue 40): how many reviewed cells per class does a lab need?

Protocol: for ``bccd-wbc`` and ``lisc-wbc``, k = 5, 10, 20 cells per class drawn at random
(10 draws, seeds 0..9; a class with fewer than k + 1 cells gives all but one), a profile fitted
on them with :func:`hemoapp.core.profile_fit.fit_profile` (the app's code, the same settings),
accuracy on the remaining cells of that lab; mean, SD, min and max over the draws. The profiles
fitted on ``bccd-wbc`` cells (k = 10) are also scored on ``pbc8/test`` (the classes the lab did
not review must keep working). Features are cached under ``runs/lab_profile_features/`` (the
sidecar's sha256 in the name), so a rerun only fits.

    .venv/bin/python training/experiments/lab_profile_eval.py [--framing cell-centred] [--threads 1]

Every figure names the base model (name, version, sha256) it was measured on.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from hemoapp.core.assessability import ood_limit  # noqa: E402
from hemoapp.core.classifier import Classifier, find_default_model  # noqa: E402
from hemoapp.core.lab_features import DIHEDRAL, FeatureExtractor, extract_views, load_cells  # noqa: E402
from hemoapp.core.contract import CLASS_NAMES, FRAMING_CENTRE_CROP  # noqa: E402

DATA = ROOT.parent / "shared" / "datasets"
CACHE = ROOT / "runs" / "lab_profile_features"


def dataset_files(name: str, split: str | None = None) -> tuple[list[Path], list[str]]:
    """Files and labels of a class-folder data set (``pbc8`` with ``split``)."""
    base = DATA / name / split if split else DATA / name
    paths, labels = [], []
    for folder in sorted(p for p in base.iterdir() if p.is_dir()):
        for path in sorted(folder.iterdir()):
            if path.is_file():
                paths.append(path)
                labels.append(folder.name)
    return paths, labels


def features_of(extractor: FeatureExtractor, classifier: Classifier, name: str, framing: str,
                views, split: str | None = None) -> dict:
    """Cached pooled features (N, V, C), labels and sha256s of a data set."""
    tag = f"{name}{'-' + split if split else ''}_{framing}_{len(views)}v_{extractor.card['sha256'][:12]}"
    cache = CACHE / f"{tag}.npz"
    if cache.is_file():
        with np.load(cache) as data:
            return {key: data[key] for key in data.files}
    paths, labels = dataset_files(name, split)
    start = time.perf_counter()
    inputs, digests, errors = load_cells(paths, classifier.input_size, framing, FRAMING_CENTRE_CROP)
    keep = [i for i, item in enumerate(inputs) if item is not None]
    feats = extract_views(extractor, [inputs[i] for i in keep], views, batch_size=32)
    print(f"  features {tag}: {len(keep)} cells in {time.perf_counter() - start:.0f} s", flush=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    out = {"features": feats, "labels": np.array([labels[i] for i in keep]),
           "sha256": np.array([digests[i] for i in keep])}
    np.savez(cache, **out)
    return out


def draw(labels: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of k cells per class (all but one where a class has no more than k)."""
    chosen = []
    for name in sorted(set(labels)):
        members = np.flatnonzero(labels == name)
        take = min(k, len(members) - 1)
        if take > 0:
            chosen.extend(rng.choice(members, size=take, replace=False))
    return np.array(sorted(chosen))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--framing", default=FRAMING_CENTRE_CROP)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--draws", type=int, default=10)
    parser.add_argument("--ks", default="5,10,20")
    parser.add_argument("--tta", action="store_true",
                        help="score the held-out cells on the mean logits of their 8 dihedral views (not in the app)")
    parser.add_argument("--no-gate", action="store_true", help="the lab's head decides every cell")
    parser.add_argument("--json", type=Path, default=None, help="write the table here too")
    args = parser.parse_args(argv)

    from hemoapp.core.profile_fit import FitSettings, fit_head, head_logits

    classifier = Classifier(find_default_model(), num_threads=args.threads)
    info = classifier.info
    extractor = FeatureExtractor(classifier.model_path, info.sha256, num_threads=args.threads)
    print(f"Base model {info.name} {info.version} sha256 {info.sha256}; framing {args.framing}"
          f"{'; held-out cells scored on 8 views' if args.tta else ''}")
    settings = FitSettings(gate=not args.no_gate)
    limit = ood_limit(info.card.assessability)
    temperature = info.card.calibration_temperature
    print(f"Fit settings: {settings}")
    pbc = features_of(extractor, classifier, "pbc8", args.framing, DIHEDRAL[:1], split="test")
    pbc_base = extractor.base_logits(pbc["features"][:, 0])
    pbc_labels = np.array([CLASS_NAMES.index(v) for v in pbc["labels"]])
    print(f"pbc8/test base model: {np.mean(pbc_base.argmax(1) == pbc_labels):.4f} (n={len(pbc_labels)})")
    table = []
    for lab in ("bccd-wbc", "lisc-wbc"):
        data = features_of(extractor, classifier, lab, args.framing, DIHEDRAL)
        feats, labels = data["features"], data["labels"]
        y = np.array([CLASS_NAMES.index(v) for v in labels])
        base = extractor.base_logits(feats[:, 0])
        print(f"{lab}: base model on all {len(y)} cells: {np.mean(base.argmax(1) == y):.4f}")
        for k in [int(v) for v in args.ks.split(",")]:
            accs, pbc_accs, times = [], [], []
            for seed in range(args.draws):
                rng = np.random.default_rng(seed)
                train = draw(labels, k, rng)
                rest = np.setdiff1d(np.arange(len(y)), train)
                start = time.perf_counter()
                head = fit_head(feats[train], y[train], extractor.kernel, extractor.bias, settings, limit, temperature)
                times.append(time.perf_counter() - start)
                views = range(feats.shape[1]) if args.tta else [0]
                pred = np.mean([head_logits(head, feats[rest, v], extractor.kernel, extractor.bias)
                                for v in views], axis=0).argmax(1)
                accs.append(float(np.mean(pred == y[rest])))
                if lab == "bccd-wbc":
                    pbc_pred = head_logits(head, pbc["features"][:, 0], extractor.kernel, extractor.bias).argmax(1)
                    pbc_accs.append(float(np.mean(pbc_pred == pbc_labels)))
                base_rest = float(np.mean(base[rest].argmax(1) == y[rest]))
            row = {"lab": lab, "k": k, "n_fit": int(len(train)), "n_rest": int(len(rest)),
                   "mean": float(np.mean(accs)), "sd": float(np.std(accs)), "min": float(np.min(accs)),
                   "max": float(np.max(accs)), "base_rest": base_rest, "fit_s": float(np.mean(times))}
            if pbc_accs:
                row.update(pbc_mean=float(np.mean(pbc_accs)), pbc_min=float(np.min(pbc_accs)))
            table.append(row)
            extra = f"; pbc8/test {row['pbc_mean']:.4f} (min {row['pbc_min']:.4f})" if pbc_accs else ""
            print(f"  k={k:2d} fit {row['n_fit']:3d}: rest {row['mean']:.4f} ± {row['sd']:.4f} "
                  f"[{row['min']:.4f}, {row['max']:.4f}] (base {base_rest:.4f}), fit {row['fit_s']:.2f} s{extra}",
                  flush=True)
    if args.json:
        args.json.write_text(json.dumps({"model": {"name": info.name, "version": info.version,
                                                   "sha256": info.sha256}, "framing": args.framing, "tta": args.tta,
                                         "settings": str(settings), "table": table}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
