"""The bundle recipe's decisions (packaging/hemolens_bundle.py), without building a bundle."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import hemolens_bundle as hb
from hemoapp.core.contract import CLASS_NAMES

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_class_list_matches_the_contract():
    assert hb.CLASS_NAMES == CLASS_NAMES


def test_every_qt_module_the_app_imports_is_kept():
    imported = set()
    for path in (REPO_ROOT / "hemoapp").rglob("*.py"):
        imported |= set(re.findall(r"PySide6\.(Qt\w+)", path.read_text(encoding="utf-8")))
    assert imported, "the GUI imports no Qt module?"
    assert imported <= set(hb.QT_MODULES_USED), f"add to QT_MODULES_USED: {sorted(imported - set(hb.QT_MODULES_USED))}"
    excluded = set(hb.excluded_modules())
    assert not {f"PySide6.{name}" for name in imported} & excluded


def test_heavy_and_dev_packages_are_excluded():
    excluded = set(hb.excluded_modules())
    for name in ("tensorflow", "keras", "matplotlib", "sklearn", "scipy", "pytest", "training", "tests", "tkinter"):
        assert name in excluded
    assert "PySide6.QtNetwork" in excluded and "PySide6.QtQml" in excluded
    assert "hemoapp" not in excluded and "numpy" not in excluded and "PIL" not in excluded


@pytest.mark.parametrize(
    ("dest", "kept"),
    [
        ("PySide6/Qt/plugins/platforms/libqxcb.so", True),
        ("PySide6/Qt/plugins/platforms/libqoffscreen.so", True),
        ("PySide6/Qt/plugins/platforms/libqwayland.so", True),
        ("PySide6/Qt/plugins/iconengines/libqsvgicon.so", True),
        ("PySide6/Qt/plugins/imageformats/libqjpeg.so", True),
        ("PySide6/Qt/lib/libQt6Gui.so.6", True),
        ("PySide6/Qt/lib/libQt6Svg.so.6", True),
        ("PySide6/Qt/lib/libQt6XcbQpa.so.6", True),
        ("PySide6/Qt/plugins/platforms/libqvnc.so", False),
        ("PySide6/Qt/plugins/platforms/libqeglfs.so", False),
        ("PySide6/Qt/plugins/platformthemes/libqgtk3.so", False),
        ("PySide6/Qt/plugins/imageformats/libqpdf.so", False),
        ("PySide6/Qt/plugins/tls/libqopensslbackend.so", False),
        ("PySide6/Qt/translations/qtbase_de.qm", False),
        ("PySide6/Qt/lib/libQt6Quick.so.6", False),
        ("libQt6Network.so.6", False),
        ("libQt6EglFsKmsSupport.so.6", False),
    ],
)
def test_keep_entry(dest, kept):
    assert hb.keep_entry(dest) is kept


def test_drop_orphan_libraries_follows_needed_links_from_kept_binaries():
    toc = [
        ("PySide6/QtGui.abi3.so", "/src/QtGui.abi3.so", "EXTENSION"),
        ("libpython3.11.so.1.0", "/src/libpython", "BINARY"),
        ("libglib-2.0.so.0", "/src/libglib", "BINARY"),  # needed by QtGui
        ("libpcre2-8.so.0", "/src/libpcre", "BINARY"),  # needed by glib
        ("libgtk-3.so.0", "/src/libgtk", "BINARY"),  # only the dropped GTK plugin needed it
        ("libcairo.so.2", "/src/libcairo", "BINARY"),
        ("libcairo.so", "libcairo.so.2", "SYMLINK"),
        ("libz.so.1", "/src/libz", "BINARY"),  # needed by libpython
    ]
    needed = {
        "/src/QtGui.abi3.so": ["libglib-2.0.so.0"],
        "/src/libglib": ["libpcre2-8.so.0"],
        "/src/libgtk": ["libcairo.so.2", "libglib-2.0.so.0"],
        "/src/libpython": ["libz.so.1"],
    }
    kept = hb.drop_orphan_libraries(toc, lambda source: needed.get(source, []))
    names = [entry[0] for entry in kept]
    assert names == ["PySide6/QtGui.abi3.so", "libpython3.11.so.1.0", "libglib-2.0.so.0", "libpcre2-8.so.0", "libz.so.1"]


def _config(tmp_path: Path, **env) -> hb.BundleConfig:
    return hb.BundleConfig.from_env(tmp_path, env={k: str(v) for k, v in env.items()})


def test_config_from_environment_and_spec_arguments(tmp_path):
    default = _config(tmp_path)
    assert not default.onefile and default.samples_per_class == 2 and not default.allow_no_samples
    assert default.samples_src == tmp_path.parent / "shared" / "datasets" / "pbc8-originals"
    assert _config(tmp_path, HEMOLENS_ONEFILE=1).onefile
    assert hb.BundleConfig.from_env(tmp_path, env={}, argv=["--onefile"]).onefile
    with pytest.raises(hb.BundleError, match="whole number"):
        _config(tmp_path, HEMOLENS_SAMPLES_PER_CLASS="two")
    with pytest.raises(hb.BundleError, match="at least 1"):
        _config(tmp_path, HEMOLENS_SAMPLES_PER_CLASS=0)


def _fake_samples(folder: Path, per_class: int, skip: str | None = None) -> Path:
    for name in CLASS_NAMES:
        if name == skip:
            continue
        (folder / name).mkdir(parents=True)
        for index in (10, 2, 1)[:per_class]:
            (folder / name / f"img{index}.jpg").write_bytes(b"jpeg")
        (folder / name / "notes.txt").write_text("not an image")
    return folder


def test_select_samples_takes_the_first_in_natural_order(tmp_path):
    source = _fake_samples(tmp_path / "src", 3)
    chosen = hb.select_samples(source, 2)
    assert len(chosen) == 2 * len(CLASS_NAMES)
    assert [(path.name, dest) for path, dest in chosen[:2]] == [("img1.jpg", "samples/basophil"), ("img2.jpg", "samples/basophil")]
    assert chosen[-1][1] == "samples/platelet"


def test_select_samples_fails_for_a_short_or_missing_class(tmp_path):
    with pytest.raises(hb.BundleError, match="ig \\(0\\)"):
        hb.select_samples(_fake_samples(tmp_path / "a", 2, skip="ig"), 2)
    with pytest.raises(hb.BundleError, match="3 per class needed"):
        hb.select_samples(_fake_samples(tmp_path / "b", 2), 3)


def test_sample_datas_fails_without_the_shared_folder_unless_allowed(tmp_path):
    with pytest.raises(hb.BundleError, match="HEMOLENS_ALLOW_NO_SAMPLES"):
        hb.sample_datas(_config(tmp_path, HEMOLENS_SAMPLES_SRC=tmp_path / "absent"))
    assert hb.sample_datas(_config(tmp_path, HEMOLENS_SAMPLES_SRC=tmp_path / "absent", HEMOLENS_ALLOW_NO_SAMPLES=1)) == []


def test_sample_datas_from_the_real_dataset(tmp_path, pbc8_originals):
    datas = hb.sample_datas(_config(tmp_path, HEMOLENS_SAMPLES_SRC=pbc8_originals))
    assert len(datas) == 16
    assert {dest for _, dest in datas} == {f"samples/{name}" for name in CLASS_NAMES}


def test_model_datas_checks_card_and_sha256(tmp_path, tiny_model):
    root = tmp_path / "repo"
    (root / "models").mkdir(parents=True)
    with pytest.raises(hb.BundleError, match="no model in"):
        hb.model_datas(_config(root))
    model = root / "models" / tiny_model.model_path.name
    shutil.copyfile(tiny_model.model_path, model)
    with pytest.raises(hb.BundleError, match="has no card"):
        hb.model_datas(_config(root))
    card = root / "models" / tiny_model.card_path.name
    shutil.copyfile(tiny_model.card_path, card)
    assert hb.model_datas(_config(root)) == [(str(model), "models"), (str(card), "models")]
    data = json.loads(card.read_text(encoding="utf-8"))
    data["sha256"] = "0" * 64
    card.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(hb.BundleError, match="does not match its card"):
        hb.model_datas(_config(root))


def test_an_explicit_model_replaces_the_models_folder(tmp_path, tiny_model):
    datas = hb.model_datas(_config(tmp_path, HEMOLENS_BUNDLE_MODEL=tiny_model.model_path))
    assert [Path(source).name for source, _ in datas] == [tiny_model.model_path.name, tiny_model.card_path.name]


def _spec_datas(repo_root: Path, monkeypatch, tmp_path: Path) -> list[tuple[str, str]]:
    """``datas`` as build.spec computes them: the spec run up to its Analysis (PyInstaller not needed)."""
    source = (repo_root / "build.spec").read_text(encoding="utf-8")
    prefix = source[: source.index("a = Analysis(")]
    monkeypatch.setattr("sys.argv", ["pyinstaller", "build.spec"])
    monkeypatch.setattr("sys.path", list(__import__("sys").path))  # the spec inserts packaging/
    for name in ("HEMOLENS_BUNDLE_MODEL", "HEMOLENS_ONEFILE", "HEMOLENS_SAMPLES_SRC"):
        monkeypatch.delenv(name, raising=False)
    spec_globals = {"SPECPATH": str(repo_root), "workpath": str(tmp_path), "__name__": "build_spec"}
    exec(compile(prefix, str(repo_root / "build.spec"), "exec"), spec_globals)
    return spec_globals["datas"]


def test_the_spec_bundles_the_heatmap_sidecar(repo_root, monkeypatch, tmp_path, pbc8_originals):
    """The packaged app has heatmaps: build.spec's datas carry models/heatmap/ beside the model."""
    datas = _spec_datas(repo_root, monkeypatch, tmp_path)
    sidecar = {(Path(source).relative_to(repo_root).as_posix(), dest) for source, dest in datas
               if dest == "models/heatmap"}
    assert sidecar == {(f"models/heatmap/hemolens-lite0{suffix}", "models/heatmap")
                       for suffix in (".tflite", ".npz", ".json")}
    # Where the app looks for it, once the bundle's models/ is its models folder.
    from hemoapp.core.heatmap import sidecar_paths

    bundled = {f"{dest}/{Path(source).name}" for source, dest in datas}
    assert {f"models/heatmap/{path.name}" for path in sidecar_paths(Path("models/hemolens-lite0.tflite"))} <= bundled


def _repo_with_sidecar(tmp_path: Path, repo_root: Path) -> Path:
    from hemotest.shipped_models import copy_shipped_models

    return copy_shipped_models(repo_root, tmp_path / "repo" / "models").parents[1]


def test_a_sidecar_for_another_model_or_not_matching_its_card_fails_the_build(tmp_path, repo_root):
    root = _repo_with_sidecar(tmp_path, repo_root)
    assert len([dest for _, dest in hb.model_datas(_config(root)) if dest == "models/heatmap"]) == 3
    card = root / "models" / "heatmap" / "hemolens-lite0.json"
    data = json.loads(card.read_text(encoding="utf-8"))
    card.write_text(json.dumps({**data, "base_model": {**data["base_model"], "sha256": "0" * 64}}), encoding="utf-8")
    with pytest.raises(hb.BundleError, match="made for another model"):
        hb.model_datas(_config(root))
    card.write_text(json.dumps(data), encoding="utf-8")
    (root / "models" / "heatmap" / "hemolens-lite0.npz").write_bytes(b"not the weights")
    with pytest.raises(hb.BundleError, match="do not match their card"):
        hb.model_datas(_config(root))
    (root / "models" / "heatmap" / "hemolens-lite0.npz").unlink()
    with pytest.raises(hb.BundleError, match="incomplete: hemolens-lite0.npz missing"):
        hb.model_datas(_config(root))


def test_a_model_without_a_sidecar_is_bundled_without_heatmaps_and_says_so(tmp_path, repo_root, capsys):
    root = _repo_with_sidecar(tmp_path, repo_root)
    shutil.rmtree(root / "models" / "heatmap")
    assert [dest for _, dest in hb.model_datas(_config(root))] == ["models", "models"]
    assert "no heatmap sidecar" in capsys.readouterr().err


def test_resources_are_bundled(repo_root):
    names = {Path(source).name for source, dest in hb.resource_datas(repo_root)}
    assert {"hemolens.svg", "hemolens-256.png"} <= names


def test_licences_are_bundled(repo_root):
    datas = hb.licence_datas(repo_root)
    top = {Path(source).name for source, dest in datas if dest == "licenses"}
    assert {"THIRD_PARTY_NOTICES.md", "LGPL-3.0.txt", "GPL-3.0.txt", "Apache-2.0.txt"} <= top
    # each bundled package's own texts, from the installed distribution, kept apart by package
    by_dest = {dest for _, dest in datas}
    assert "licenses/pillow" in by_dest and "licenses/ai-edge-litert" in by_dest
    numpy_files = [(Path(source), dest) for source, dest in datas if dest.startswith("licenses/numpy")]
    assert len({(path.name, dest) for path, dest in numpy_files}) == len(numpy_files) > 1  # nothing overwrites
    notices = (repo_root / "resources" / "licenses" / "THIRD_PARTY_NOTICES.md").read_text(encoding="utf-8")
    for package in hb.BUNDLED_DISTRIBUTIONS:
        assert package.lower() in notices.lower(), package
    assert "ML Illustrated" in notices and "CC BY 4.0" in notices


def test_a_bundle_without_notices_is_refused(tmp_path):
    (tmp_path / "resources" / "licenses").mkdir(parents=True)
    with pytest.raises(hb.BundleError, match="third-party notices"):
        hb.licence_datas(tmp_path)


@pytest.mark.parametrize("script", ["build.sh", "runtime-libs.sh"])
def test_shell_scripts_parse(script):
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash not available")
    done = subprocess.run([bash, "-n", str(REPO_ROOT / "packaging" / script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(("platform", "suffix"), [("win32", ".ico"), ("darwin", ".icns")])
def test_platform_icon_is_made_from_the_png(tmp_path, repo_root, platform, suffix):
    from PIL import Image

    icon = hb.platform_icon(repo_root, platform, tmp_path)
    assert icon is not None and icon.endswith(suffix)
    with Image.open(icon) as image:
        assert image.format == {".ico": "ICO", ".icns": "ICNS"}[suffix]


def test_no_icon_file_on_linux(tmp_path, repo_root):
    assert hb.platform_icon(repo_root, "linux", tmp_path) is None
