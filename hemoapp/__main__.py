"""``python -m hemoapp`` / the ``hemoapp`` command / PyInstaller's entry point.

``hemoapp`` (optionally with folders or images) opens the desktop app;
``hemoapp classify FOLDER ...`` classifies without a window; ``hemoapp validate FOLDER``
compares HemoLens with a lab's own classes (a folder per class); ``hemoapp --version``
prints the version. The GUI is imported only when it is needed, so the headless
path works where Qt cannot start.
"""

from __future__ import annotations

import sys

from hemoapp import __version__

USAGE = """\
usage: hemoapp [FOLDER_OR_IMAGE ...]      open the HemoLens app (optionally with these)
       hemoapp classify FOLDER [--out results.csv] [--report report.pdf] [OPTIONS]
                                           classify without a window: a results CSV, and a report PDF if asked
       hemoapp validate FOLDER [--out results.csv] [--agreement agreement.csv] [--report report.pdf] [OPTIONS]
                                           compare with your lab's classes: FOLDER holds a folder per class
       hemoapp adapt FOLDER --out lab.hlprofile.json
                                           fit a lab profile from your reviewed cells (a folder per class)
       hemoapp explain IMAGE --out heatmap.png [--class NAME] [--opacity 0.5]
                                           where the model looked: the heatmap over the picture, as a PNG
       hemoapp --self-test                 check an installation: classify the bundled samples, exit 0/1
       hemoapp --version

'hemoapp COMMAND --help' lists a command's options (sample ID, comment, model, batch size, threads).
"""

EXIT_USAGE = 2


def _run_gui(paths: list[str]) -> int:
    try:
        from hemoapp.gui.app import run_gui
    except ImportError as exc:
        sys.stderr.write(
            f"hemoapp: error: the desktop app cannot start ({exc}).\n"
            "Use 'hemoapp classify FOLDER' to classify without a window.\n"
        )
        return EXIT_USAGE
    return int(run_gui(paths) or 0)


def main(argv: list[str] | None = None) -> int:
    """Dispatch on the first argument; return the exit status.

    Args:
        argv: arguments without the program name (default: ``sys.argv[1:]``).
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "classify":
        from hemoapp import cli

        return cli.main(args[1:])
    if args and args[0] == "validate":
        from hemoapp import validate

        return validate.main(args[1:])
    if args and args[0] == "adapt":
        from hemoapp import adapt

        return adapt.main(args[1:])
    if args and args[0] == "explain":
        from hemoapp import explain

        return explain.main(args[1:])
    if args and args[0] in ("--version", "-V"):
        print(f"HemoLens {__version__}")
        return 0
    if args and args[0] in ("-h", "--help"):
        print(USAGE, end="")
        return 0

    # ---- SELF-TEST HOOK ----------------------------------------------------------
    # `hemoapp --self-test` checks a build headlessly (model + card + samples);
    # `--startup-probe` (hidden) times the GUI to a shown window for benchmarks/.
    if args and args[0] == "--startup-probe":
        from hemoapp.gui.startup_probe import run_startup_probe

        return run_startup_probe()
    if args and args[0] == "--self-test":
        from hemoapp import selftest

        return selftest.dispatch(args)
    # -------------------------------------------------------------------------------

    # macOS Finder may add a -psn_... process serial number; it is not ours to judge.
    args = [arg for arg in args if not arg.startswith("-psn_")]
    unknown = [arg for arg in args if arg.startswith("-")]
    if unknown:
        sys.stderr.write(f"hemoapp: error: unknown option {unknown[0]}\n{USAGE}")
        return EXIT_USAGE
    return _run_gui(args)


if __name__ == "__main__":
    sys.exit(main())
