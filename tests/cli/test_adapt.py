"""``hemoapp adapt``: a lab profile from a small folder of class folders, then classify with it."""

from __future__ import annotations

import csv
import io
import json

import pytest

from hemoapp import adapt, cli
from hemotest.lab_cells import make_lab_folder


@pytest.fixture(scope="module")
def profile_path(tmp_path_factory):
    lab = make_lab_folder(tmp_path_factory.mktemp("lab") / "Lab B", per_class=5)
    (lab / "notes").mkdir()
    out = tmp_path_factory.mktemp("out") / "labb"
    stdout, stderr = io.StringIO(), io.StringIO()
    code = adapt.main([str(lab), "--out", str(out), "--author", "tester", "--threads", "1"], stdout, stderr)
    assert code == 0, stderr.getvalue()
    return out.with_name("labb.hlprofile.json"), stdout.getvalue(), stderr.getvalue(), lab


def test_adapt_prints_cross_validated_figures_and_writes_profile(profile_path):
    path, printed, warnings, _ = profile_path
    assert path.is_file()
    doc = json.loads(path.read_text())
    assert doc["name"] == "Lab B" and doc["card"]["author"] == "tester"
    cv = doc["card"]["cross_validation"]
    assert f"({cv['profile_correct']}/{cv['n']}, 95%" in printed and "base model" in printed
    assert cv["n"] == 15 and "skipped folder notes/" in warnings
    assert doc["sha256"] in printed


def test_classify_with_profile_names_it_in_every_row(profile_path, tmp_path):
    path, _, _, lab = profile_path
    out = tmp_path / "r.csv"
    stderr = io.StringIO()
    assert cli.main([str(lab), "--out", str(out), "--model", str(path), "--threads", "1"],
                    io.StringIO(), stderr) == 0, stderr.getvalue()
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    sha = json.loads(path.read_text())["sha256"]
    assert len(rows) == 15
    assert {r["model_name"] for r in rows} == {"hemolens-lite0+lab:Lab B"}
    assert {r["model_sha256"] for r in rows} == {sha}
    assert "hemolens-lite0+lab:Lab B" in stderr.getvalue()


def test_adapt_refuses_too_few_cells(tmp_path):
    lab = make_lab_folder(tmp_path / "lab", per_class=3)
    stderr = io.StringIO()
    code = adapt.main([str(lab), "--out", str(tmp_path / "p"), "--threads", "1"], io.StringIO(), stderr)
    assert code == 2 and "Too few reviewed cells" in stderr.getvalue()
    assert not (tmp_path / "p.hlprofile.json").exists()


def test_damaged_profile_is_a_clear_error(profile_path, tmp_path):
    path, _, _, lab = profile_path
    bad = tmp_path / "bad.hlprofile.json"
    bad.write_text(path.read_text().replace('"author": "tester"', '"author": "someone"'))
    stderr = io.StringIO()
    assert cli.main([str(lab), "--out", str(tmp_path / "r.csv"), "--model", str(bad)], io.StringIO(), stderr) == 2
    assert "does not match its sha256" in stderr.getvalue()


def test_validate_with_profile_names_it(profile_path, tmp_path):
    from hemoapp import validate

    path, _, _, lab = profile_path
    stdout, stderr = io.StringIO(), io.StringIO()
    code = validate.main([str(lab), "--out", str(tmp_path / "v.csv"), "--agreement", str(tmp_path / "a.csv"),
                          "--model", str(path), "--threads", "1"], stdout, stderr)
    assert code == 0, stderr.getvalue()
    sha = json.loads(path.read_text())["sha256"]
    assert f"hemolens-lite0+lab:Lab B 1.1.0, sha256 {sha}" in stdout.getvalue() + stderr.getvalue()
    rows = list(csv.DictReader((tmp_path / "a.csv").open(encoding="utf-8")))
    assert rows and {r["model_sha256"] for r in rows} == {sha}
