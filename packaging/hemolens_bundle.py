"""What goes into the HemoLens bundle: models, resources, samples, and what stays out.

``build.spec`` imports this module (PyInstaller runs the spec as Python), and
``tests/packaging`` tests it without building anything. Nothing here imports
PyInstaller. Every problem is a :class:`BundleError` with a message that says
what to do: a build never silently ships without its model or its samples.

Environment variables read by :func:`BundleConfig.from_env`:

``HEMOLENS_ONEFILE=1``
    one self-extracting file instead of a folder (slower start: it unpacks to a
    temporary folder on every launch).
``HEMOLENS_BUNDLE_MODEL=/path/model.tflite``
    bundle this model (its ``.card.json`` must sit beside it) instead of
    ``models/*.tflite``; for builds before the shipped model exists.
``HEMOLENS_SAMPLES_SRC=/path``
    where sample images are copied from (default ``../shared/datasets/pbc8-originals``).
``HEMOLENS_SAMPLES_PER_CLASS=N``
    samples per class (default 2, so 16 files).
``HEMOLENS_ALLOW_NO_SAMPLES=1``
    build without samples when the source folder is absent (the self-test then
    fails; "Open sample images" is disabled).
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import sys
from dataclasses import dataclass
from pathlib import Path

#: The app's classes in contract order (checked against hemoapp.core.contract by a test;
#: kept literal so the spec does not import the app).
CLASS_NAMES: tuple[str, ...] = (
    "basophil",
    "eosinophil",
    "erythroblast",
    "ig",
    "lymphocyte",
    "monocyte",
    "neutrophil",
    "platelet",
)

#: Extensions copied as samples (the analyser exports JPEGs; others are accepted).
SAMPLE_EXTENSIONS: frozenset[str] = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff"})

DEFAULT_SAMPLES_PER_CLASS = 2

#: Python packages the app never imports at run time. Listing them stops
#: PyInstaller from following optional imports into them (ai_edge_litert tries
#: ``openvino``; PIL and numpy mention many optional extras).
EXCLUDED_MODULES: tuple[str, ...] = (
    "tensorflow",
    "tensorboard",
    "keras",
    "jax",
    "torch",
    "matplotlib",
    "sklearn",
    "scipy",
    "pandas",
    "IPython",
    "pytest",
    "_pytest",
    "pytestqt",
    "hypothesis",
    "importlinter",
    "training",
    "tests",
    "hemotest",
    "tkinter",
    "_tkinter",
    "PIL.ImageTk",
    "PIL._tkinter_finder",
    "PIL.ImageQt",
    "openvino",
    "ai_edge_litert_sdk_intel",
    "ai_edge_litert.aot",
    "ai_edge_litert.tools",
    "ai_edge_litert.vendors",
    "numpy.f2py",
    "numpy.distutils",
    "setuptools",
    "pkg_resources",
    "distutils",
    "pip",
    "pydoc",
    "xmlrpc",
    "lib2to3",
    "curses",
    # readline links GNU readline (GPL) and is only used by interactive prompts.
    "readline",
    "rlcompleter",
    # AVIF is not an accepted input type; its codec library is ~5 MB.
    "PIL._avif",
    "PIL.AvifImagePlugin",
)

#: The Qt modules HemoLens imports; every other ``PySide6.Qt*`` module is excluded.
QT_MODULES_USED: tuple[str, ...] = ("QtCore", "QtGui", "QtWidgets", "QtSvg")

#: Qt binding modules that ship with PySide6-Essentials (and Addons), to exclude.
QT_MODULES_ALL: tuple[str, ...] = (
    "Qt3DAnimation", "Qt3DCore", "Qt3DExtras", "Qt3DInput", "Qt3DLogic", "Qt3DRender", "QtAxContainer",
    "QtBluetooth", "QtCanvasPainter", "QtCharts", "QtConcurrent", "QtCore", "QtDBus", "QtDataVisualization",
    "QtDesigner", "QtGraphs", "QtGraphsWidgets", "QtGui", "QtHelp", "QtHttpServer", "QtLocation",
    "QtMultimedia", "QtMultimediaWidgets", "QtNetwork", "QtNetworkAuth", "QtNfc", "QtOpenGL",
    "QtOpenGLWidgets", "QtPdf", "QtPdfWidgets", "QtPositioning", "QtPrintSupport", "QtQml", "QtQuick",
    "QtQuick3D", "QtQuickControls2", "QtQuickTest", "QtQuickWidgets", "QtRemoteObjects", "QtScxml",
    "QtSensors", "QtSerialBus", "QtSerialPort", "QtSpatialAudio", "QtSql", "QtStateMachine", "QtSvg",
    "QtSvgWidgets", "QtTest", "QtTextToSpeech", "QtUiTools", "QtWebChannel", "QtWebEngineCore",
    "QtWebEngineQuick", "QtWebEngineWidgets", "QtWebSockets", "QtWebView", "QtXml",
)

#: Qt plugin folders/files (paths inside ``PySide6/Qt/plugins``) that the app needs
#: nowhere: no OpenGL-ES device integration, no VNC/framebuffer, no TLS or network,
#: no PDF images, no QML virtual keyboard, no OpenGL buffer sharing under Wayland
#: (widgets draw in software and hand Wayland shared-memory buffers), and no GTK
#: theme plugin: it would load the user's GTK next to the bundle's own GLib.
#: Kept: platforms xcb, wayland, offscreen, minimal; imageformats; iconengines (SVG icon);
#: platformthemes (native file dialogs); platforminputcontexts (IME input).
QT_PLUGIN_DROP = re.compile(
    r"(^|/)plugins/("
    r"egldeviceintegrations|networkinformation|tls|sqldrivers|printsupport|qmltooling|designer|"
    r"generic|vectorimageformats|wayland-graphics-integration-client|wayland-graphics-integration-server|"
    r"platforms/lib(qeglfs|qlinuxfb|qvnc|qvkkhrdisplay|qminimalegl)[^/]*|"
    r"imageformats/libqpdf[^/]*|platforminputcontexts/libqtvirtualkeyboardplugin[^/]*|"
    r"platformthemes/libqgtk3[^/]*"
    r")(/|$)"
)

#: Qt's own translations: HemoLens installs no QTranslator, so they are never read.
QT_DATA_DROP = re.compile(r"(^|/)Qt/translations/")

#: Shared libraries no kept module or plugin needs (pulled in by over-eager hooks).
QT_LIB_DROP = re.compile(
    r"libQt6(Qml|Quick|Pdf|Network|OpenGL|VirtualKeyboard|EglFS|EglFs|Designer|Test|Sql|Xml|Concurrent|PrintSupport"
    r"|Multimedia|Positioning|WebSockets|ShaderTools)[A-Za-z0-9]*\.so"
)


class BundleError(Exception):
    """The bundle cannot be built as asked; the message says how to fix it."""


@dataclass(frozen=True)
class BundleConfig:
    """Build options (see the module docstring for the environment variables)."""

    root: Path
    onefile: bool = False
    model: Path | None = None
    samples_src: Path | None = None
    samples_per_class: int = DEFAULT_SAMPLES_PER_CLASS
    allow_no_samples: bool = False

    @classmethod
    def from_env(cls, root: Path, env: dict[str, str] | None = None, argv: list[str] | None = None) -> "BundleConfig":
        """Read the options from ``env`` (default ``os.environ``) and spec arguments.

        ``argv`` are the arguments after ``--`` on the PyInstaller command line;
        ``--onefile`` there is the same as ``HEMOLENS_ONEFILE=1``.
        """
        env = dict(os.environ if env is None else env)
        argv = list(argv or [])
        try:
            per_class = int(env.get("HEMOLENS_SAMPLES_PER_CLASS", DEFAULT_SAMPLES_PER_CLASS))
        except ValueError:
            raise BundleError("HEMOLENS_SAMPLES_PER_CLASS must be a whole number") from None
        if per_class < 1:
            raise BundleError("HEMOLENS_SAMPLES_PER_CLASS must be at least 1")
        samples = env.get("HEMOLENS_SAMPLES_SRC")
        model = env.get("HEMOLENS_BUNDLE_MODEL")
        return cls(
            root=Path(root),
            onefile=_truthy(env.get("HEMOLENS_ONEFILE")) or "--onefile" in argv,
            model=Path(model) if model else None,
            samples_src=Path(samples) if samples else Path(root).parent / "shared" / "datasets" / "pbc8-originals",
            samples_per_class=per_class,
            allow_no_samples=_truthy(env.get("HEMOLENS_ALLOW_NO_SAMPLES")),
        )


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def card_path_for(model: Path) -> Path:
    """``x.tflite`` → ``x.card.json`` (the app's rule)."""
    return model.with_name(model.stem + ".card.json")


def check_model(model: Path) -> None:
    """Fail unless ``model`` exists, has its card beside it, and matches the card's sha256."""
    if not model.is_file():
        raise BundleError(f"model {model} does not exist")
    card = card_path_for(model)
    if not card.is_file():
        raise BundleError(f"model {model.name} has no card: {card.name} must sit beside it")
    try:
        data = json.loads(card.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BundleError(f"model card {card} cannot be read: {exc}") from exc
    expected = str(data.get("sha256", "")).lower() if isinstance(data, dict) else ""
    actual = _sha256(model)
    if actual != expected:
        raise BundleError(
            f"model {model.name} does not match its card (file sha256 {actual[:12]}…, card {expected[:12] or 'none'}…)"
        )


#: Where the app reads a model's heatmap sidecar (``hemoapp.core.heatmap``: ``heatmap/<stem>.*``), literal here.
SIDECAR_DIR, SIDECAR_SUFFIXES = "heatmap", (".tflite", ".npz", ".json")


def sidecar_datas(model: Path) -> list[tuple[str, str]]:
    """``(source, "models/heatmap")`` pairs of ``model``'s heatmap sidecar (none, with a warning, without one).

    Raises:
        BundleError: the sidecar is incomplete, unreadable, made for another model, or its
            files do not match its card: the packaged app would refuse it and show no heatmap.
    """
    files = [model.parent / SIDECAR_DIR / f"{model.stem}{suffix}" for suffix in SIDECAR_SUFFIXES]
    if not any(path.is_file() for path in files):
        print(f"hemolens_bundle: warning: {model.name} has no heatmap sidecar ({SIDECAR_DIR}/{model.stem}.*), "
              "so the bundle shows no heatmaps (python -m training.sidecar writes one)", file=sys.stderr)
        return []
    missing = ", ".join(path.name for path in files if not path.is_file())
    if missing:
        raise BundleError(f"the heatmap sidecar of {model.name} is incomplete: {missing} missing")
    tflite, weights, card = files
    try:
        data = json.loads(card.read_text(encoding="utf-8"))
        base, expected = str(data["base_model"]["sha256"]).lower(), str(data["sha256"]).lower()
        weights_expected = str(data["weights_sha256"]).lower()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BundleError(f"the heatmap sidecar's card {card} cannot be read: {exc}") from exc
    if base != _sha256(model):
        raise BundleError(f"the heatmap sidecar {card.name} was made for another model (sha256 {base[:12]}…), not "
                          f"{model.name}: export it again (python -m training.sidecar MODEL.keras MODEL.tflite)")
    if _sha256(tflite) != expected or _sha256(weights) != weights_expected:
        raise BundleError(f"the heatmap sidecar files of {model.name} do not match their card {card.name} (sha256)")
    return [(str(path), f"models/{SIDECAR_DIR}") for path in files]


def model_datas(config: BundleConfig) -> list[tuple[str, str]]:
    """``(source, "models")`` pairs for every bundled model and its card (its sidecar: :func:`sidecar_datas`).

    Default: every ``models/*.tflite`` of the checkout (each must have a matching
    card). ``HEMOLENS_BUNDLE_MODEL`` bundles that one model instead.

    Raises:
        BundleError: no model, a model without its card, or a sha256 mismatch (of a
            model or of its sidecar).
    """
    if config.model is not None:
        models = [config.model]
    else:
        models = sorted((config.root / "models").glob("*.tflite"))
        if not models:
            raise BundleError(
                f"no model in {config.root / 'models'}: train and export one (models/hemolens-lite0.tflite "
                "+ .card.json), or set HEMOLENS_BUNDLE_MODEL=/path/to/model.tflite"
            )
    datas = []
    for model in models:
        check_model(model)
        datas += [(str(model), "models"), (str(card_path_for(model)), "models")]
        datas += sidecar_datas(model)
    return datas


def resource_datas(root: Path) -> list[tuple[str, str]]:
    """``(source, "resources")`` pairs for the files in ``resources/`` (not recursive)."""
    folder = root / "resources"
    if not folder.is_dir():
        raise BundleError(f"{folder} is missing (icons and style sheet)")
    return [(str(path), "resources") for path in sorted(folder.iterdir()) if path.is_file()]


#: Distributions whose code the bundle contains: their own licence files are copied
#: into ``licenses/<name>/`` (the texts every licence asks to travel with the code).
BUNDLED_DISTRIBUTIONS: tuple[str, ...] = (
    "PySide6-Essentials", "shiboken6", "ai-edge-litert", "flatbuffers", "numpy", "pillow",
)

_LICENCE_FILE = re.compile(r"^(LICEN[CS]E|COPYING|NOTICE|AUTHORS)", re.IGNORECASE)


def licence_datas(root: Path, distributions: tuple[str, ...] = BUNDLED_DISTRIBUTIONS) -> list[tuple[str, str]]:
    """The notices and licence texts for ``licenses/`` of the bundle.

    ``resources/licenses/`` (committed: THIRD_PARTY_NOTICES.md and the full texts of
    the LGPL, GPL and Apache licences, which some wheels do not ship) goes in as is;
    each bundled distribution's own licence files are added from the build
    environment under ``licenses/<distribution>/``.

    Raises:
        BundleError: the committed notices are missing (a bundle must never ship
            without them).
    """
    folder = root / "resources" / "licenses"
    notices = folder / "THIRD_PARTY_NOTICES.md"
    if not notices.is_file():
        raise BundleError(f"{notices} is missing: the bundle must carry its third-party notices")
    datas = [(str(path), "licenses") for path in sorted(folder.iterdir()) if path.is_file()]
    for name in distributions:
        datas += [(str(path), posixpath.join("licenses", name, sub).rstrip("/")) for path, sub in distribution_licence_files(name)]
    return datas


def distribution_licence_files(name: str) -> list[tuple[Path, str]]:
    """An installed distribution's licence/notice files, each with its folder inside the metadata.

    The folder keeps apart files of the same name (numpy ships a ``LICENSE.txt`` for
    each vendored library under ``licenses/<its path>/``). None if not installed.
    """
    from importlib import metadata

    try:
        distribution = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return []
    found = []
    for entry in distribution.files or []:
        parts = entry.parts
        if not parts or not parts[0].endswith(".dist-info") or not _LICENCE_FILE.match(entry.name):
            continue
        path = Path(distribution.locate_file(entry))
        if path.is_file():
            inner = list(parts[1:-1])
            if inner and inner[0] == "licenses":  # PEP 639's folder: one level less in the bundle
                inner = inner[1:]
            found.append((path, posixpath.join(*inner) if inner else ""))
    return sorted(found)


def _natural_key(name: str) -> tuple:
    return tuple(int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name))


def select_samples(source: Path, per_class: int) -> list[tuple[Path, str]]:
    """The first ``per_class`` images (natural order) of each class folder of ``source``.

    Returns:
        ``(file, "samples/<class>")`` pairs, classes in contract order.

    Raises:
        BundleError: a class folder is missing or holds fewer images than asked.
    """
    chosen: list[tuple[Path, str]] = []
    short: list[str] = []
    for name in CLASS_NAMES:
        folder = source / name
        files = (
            sorted(
                (p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SAMPLE_EXTENSIONS),
                key=lambda p: _natural_key(p.name),
            )
            if folder.is_dir()
            else []
        )
        if len(files) < per_class:
            short.append(f"{name} ({len(files)})")
        chosen += [(path, f"samples/{name}") for path in files[:per_class]]
    if short:
        raise BundleError(
            f"sample folder {source} lacks images: {', '.join(short)} found, {per_class} per class needed"
        )
    return chosen


def sample_datas(config: BundleConfig) -> list[tuple[str, str]]:
    """Sample images to copy into ``samples/<class>/`` of the bundle.

    Raises:
        BundleError: the source folder is absent and ``HEMOLENS_ALLOW_NO_SAMPLES``
            is not set, or it lacks images.
    """
    source = config.samples_src
    if source is None or not source.is_dir():
        if config.allow_no_samples:
            return []
        raise BundleError(
            f"sample images folder {source} is absent. Point HEMOLENS_SAMPLES_SRC at a folder of "
            "<class>/<image> files, or set HEMOLENS_ALLOW_NO_SAMPLES=1 to build without samples "
            "(the bundle's --self-test will then fail)."
        )
    return [(str(path), dest) for path, dest in select_samples(source, config.samples_per_class)]


def excluded_modules() -> list[str]:
    """Module names for ``Analysis(excludes=...)``: unused packages and Qt modules."""
    unused_qt = [f"PySide6.{name}" for name in QT_MODULES_ALL if name not in QT_MODULES_USED]
    return list(EXCLUDED_MODULES) + unused_qt


def keep_entry(dest: str) -> bool:
    """False for a collected binary/data file (bundle-relative path) the app never loads."""
    dest = dest.replace("\\", "/")
    name = dest.rsplit("/", 1)[-1]
    return not (QT_PLUGIN_DROP.search(dest) or QT_DATA_DROP.search(dest) or QT_LIB_DROP.search(name))


def prune(toc: list) -> list:
    """Drop entries of a PyInstaller TOC (``(dest, source, kind)`` tuples) that :func:`keep_entry` rejects."""
    return [entry for entry in toc if keep_entry(entry[0])]


#: TOC type codes of files the dynamic linker loads (``SYMLINK`` entries are only links).
_LINKED_KINDS = ("BINARY", "EXTENSION")


def drop_orphan_libraries(binaries: list, imports_of) -> list:
    """Drop top-level shared libraries that no kept binary needs any more.

    PyInstaller collects the link-time dependencies of every binary *before*
    :func:`prune` removes plugins, so the GTK theme plugin's whole GTK/Pango/Cairo
    chain would stay behind. This walks the ``NEEDED`` graph again from every kept
    binary that is not a bare top-level library (Python extensions, Qt libraries
    and plugins, ``numpy.libs``...) plus ``libpython``, and keeps only the
    top-level libraries it reaches.

    Args:
        binaries: a PyInstaller TOC of ``(dest, source, typecode)`` tuples.
        imports_of: ``source path → iterable of needed library names``
            (``PyInstaller.depend.bindepend.get_imports`` names, in the spec).
    """
    top = {entry[0]: entry for entry in binaries if "/" not in entry[0] and entry[2] == "BINARY"}

    def is_root(entry) -> bool:
        return entry[0] not in top or entry[0].startswith("libpython")

    queue = [entry[1] for entry in binaries if entry[2] in _LINKED_KINDS and is_root(entry)]
    reached: set[str] = set()
    while queue:
        for name in imports_of(queue.pop()):
            base = str(name).replace("\\", "/").rsplit("/", 1)[-1]
            if base in top and base not in reached:
                reached.add(base)
                queue.append(top[base][1])
    kept = [entry for entry in binaries if is_root(entry) or entry[0] in reached]
    dropped = set(top) - reached
    # A link to a dropped library would dangle in the bundle.
    return [entry for entry in kept if not (entry[2] == "SYMLINK" and _link_target(entry) in dropped)]


def _link_target(entry) -> str:
    """Bundle-relative path a ``SYMLINK`` TOC entry points to (its source is relative to the link)."""
    dest, target = entry[0].replace("\\", "/"), str(entry[1]).replace("\\", "/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(dest), target))


#: Icon sizes written into a generated Windows ``.ico``.
ICO_SIZES = [(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)]


def platform_icon(root: Path, platform: str, workdir: Path) -> str | None:
    """The executable's icon for ``platform`` (``sys.platform``), or ``None`` on Linux.

    ``resources/hemolens.ico`` (Windows) or ``resources/hemolens.icns`` (macOS) is
    used when present; otherwise it is made from ``resources/hemolens-256.png``
    into ``workdir`` (Pillow writes both formats), so no binary icon needs to be
    committed.

    Raises:
        BundleError: neither the icon nor the PNG to make it from exists.
    """
    suffix = {"win32": ".ico", "darwin": ".icns"}.get(platform)
    if suffix is None:
        return None  # Linux: the window icon comes from resources/ at run time
    given = root / "resources" / f"hemolens{suffix}"
    if given.is_file():
        return str(given)
    png = root / "resources" / "hemolens-256.png"
    if not png.is_file():
        raise BundleError(f"no {given.name} and no {png.name} to make it from in {root / 'resources'}")
    from PIL import Image

    workdir.mkdir(parents=True, exist_ok=True)
    target = workdir / given.name
    with Image.open(png) as image:
        if suffix == ".ico":
            image.save(target, sizes=ICO_SIZES)
        else:
            image.save(target)
    return str(target)
