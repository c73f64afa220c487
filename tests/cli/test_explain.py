"""``hemoapp explain IMAGE --out PNG``."""

from __future__ import annotations

import io
import shutil

from PIL import Image

from hemoapp import explain


def test_explain_writes_the_heatmap_at_the_pictures_size(repo_root, pbc8_originals, tmp_path):
    picture = sorted(pbc8_originals.glob("neutrophil/*.jpg"))[0]
    out, stdout = tmp_path / "heat.png", io.StringIO()
    status = explain.main([str(picture), "--out", str(out), "--threads", "1"], stdout, io.StringIO())
    assert status == 0, stdout.getvalue()
    assert Image.open(out).size == Image.open(picture).size
    assert "Heatmap of:" in stdout.getvalue() and "Assessable:" in stdout.getvalue()


def test_explain_refuses_a_sidecar_made_for_another_model(repo_root, pbc8_originals, tmp_path):
    models = tmp_path / "models"
    shutil.copytree(repo_root / "models" / "heatmap", models / "heatmap")
    for name in ("hemolens-lite0.tflite", "hemolens-lite0.card.json"):
        shutil.copy(repo_root / "models" / name, models / name)
    card = models / "heatmap" / "hemolens-lite0.json"
    card.write_text(card.read_text().replace("7f352a6d", "00000000"))
    stderr = io.StringIO()
    picture = sorted(pbc8_originals.glob("*/*.jpg"))[0]
    status = explain.main([str(picture), "--out", str(tmp_path / "h.png"), "--model",
                           str(models / "hemolens-lite0.tflite")], io.StringIO(), stderr)
    assert status == 2 and "another model" in stderr.getvalue()
    assert not (tmp_path / "h.png").exists()


def test_explain_never_writes_over_its_input_and_leaves_no_temporary_file(pbc8_originals, tmp_path):
    picture = tmp_path / "cell.png"
    Image.open(sorted(pbc8_originals.glob("neutrophil/*.jpg"))[0]).save(picture)
    before = picture.read_bytes()
    stderr = io.StringIO()
    spelled_otherwise = tmp_path / "." / "cell.png"
    status = explain.main([str(picture), "--out", str(spelled_otherwise), "--threads", "1"], io.StringIO(), stderr)
    assert status == 2 and "never writes over its input" in stderr.getvalue()
    assert picture.read_bytes() == before
    out = tmp_path / "heat.png"
    assert explain.main([str(picture), "--out", str(out), "--threads", "1"], io.StringIO(), io.StringIO()) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cell.png", "heat.png"]  # nothing half-written left
