"""Command line of the training module: ``python -m training train|evaluate|export``."""

from __future__ import annotations

import argparse
import os
import sys

from training.config import TrainConfig

DEFAULT_CONFIG = os.path.join(os.path.dirname(__file__), "configs", "lite0.toml")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training", description="Train, evaluate and export the HemoLens model.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("train", "two-stage transfer learning (resumes an interrupted run)"),
        ("evaluate", "evaluation report of a trained run on the test split and bccd-wbc"),
        ("export", "calibrate on val, export .keras + .tflite + model card into models/"),
        ("all", "train, export, then evaluate"),
    ):
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        cmd.add_argument("--config", default=DEFAULT_CONFIG, help="TOML file with a [train] table (default: %(default)s)")
        cmd.add_argument("--run-dir", help="run folder (checkpoints, histories)")
        cmd.add_argument("--data-dir", help="PBC folder with train/val/test")
        cmd.add_argument("--models-dir", help="where export writes the shipped files")
        cmd.add_argument("--backbone", help="lite0, lite1, mobilenetv2, mobilenetv3small, mobilenetv3large, efficientnetb0, inceptionv3, xception, resnet50")
        cmd.add_argument("--weights", help="'imagenet' (lite0/lite1: converted offline; others: keras download), 'none', or a local weights file")
        cmd.add_argument("--stage1-epochs", type=int)
        cmd.add_argument("--stage2-epochs", type=int)
        cmd.add_argument("--batch-size", type=int)
        cmd.add_argument("--limit-per-class", type=int, help="use only N images per class (smoke runs)")
        cmd.add_argument("--seed", type=int)
        cmd.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="settings",
                         help="override any configuration key, e.g. --set stage3_epochs=10 (repeatable)")
    return parser


def parse_settings(settings: list[str]) -> dict[str, str]:
    """``["key=value", ...]`` as a dict; TrainConfig converts each value to its key's type.

    Raises:
        ValueError: an item without ``=`` or with an empty key.
    """
    parsed = {}
    for item in settings:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set expects KEY=VALUE, got {item!r}")
        parsed[key.strip().replace("-", "_")] = value.strip()
    return parsed


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """Merge the TOML file with command-line overrides."""
    overrides = parse_settings(args.settings)
    overrides |= {
        key: getattr(args, key)
        for key in ("run_dir", "data_dir", "models_dir", "backbone", "weights", "stage1_epochs",
                    "stage2_epochs", "batch_size", "limit_per_class", "seed")
        if getattr(args, key) is not None
    }
    return TrainConfig.from_file(args.config, overrides)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = _parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from training.data import DataLayoutError

    try:
        config = config_from_args(args)
        if args.command in ("train", "all"):
            from training.train import train

            train(config)
        if args.command in ("export", "all"):
            from training.export_run import export_run

            export_run(config)
        if args.command in ("evaluate", "all"):
            from training.evaluate import evaluate_run

            evaluate_run(config)
    except (DataLayoutError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
