"""``hemoapp validate``: HemoLens against a lab's own classes, end to end."""

from __future__ import annotations

import html
import io
import json
import re
import shutil

import pytest

from hemoapp import __main__ as entry
from hemoapp import cli, validate
from hemoapp.core.agreement import compare
from hemoapp.core.contract import CLASS_NAMES
from hemoapp.core.reference_labels import reference_class
from hemotest.predictions import in_folder, predicted, rows_of


def run_validate(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = validate.main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def outputs(tmp_path) -> list[str]:
    return ["--out", str(tmp_path / "results.csv"), "--agreement", str(tmp_path / "agreement.csv")]


def test_the_shipped_model_on_the_analysers_own_cells(repo_root, pbc8_originals, tmp_path):
    shipped = repo_root / "models" / "hemolens-lite0.tflite"
    if not shipped.exists():
        pytest.skip("needs the shipped model")
    code, stdout, stderr = run_validate(str(pbc8_originals), "--model", str(shipped), *outputs(tmp_path))
    assert code == 0, stderr
    results = rows_of(tmp_path / "results.csv")
    assert len(results) == 64
    # The comparison is what the results CSV says, file by file, against each file's folder: the assessable
    # cells compared, the not-assessable ones counted apart per folder.
    expected = {(a, b): 0 for a in CLASS_NAMES for b in CLASS_NAMES}
    apart = {name: 0 for name in CLASS_NAMES}
    for row in results:
        if row["assessable"] == "no":
            apart[row["file"].split("/")[0]] += 1
        else:
            expected[(row["file"].split("/")[0], row["predicted_class"])] += 1
    rows = rows_of(tmp_path / "agreement.csv")
    matrix = {(r["reference_class"], r["hemolens_class"]): int(r["count"]) for r in rows if r["section"] == "matrix"}
    assert matrix == expected
    assert {r["reference_class"]: int(r["count"]) for r in rows
            if r["section"] == "class" and r["label"] == "Not assessable (not compared)"} == apart
    agreed = sum(expected[(name, name)] for name in CLASS_NAMES)
    compared, left_out = 64 - sum(apart.values()), sum(apart.values())
    assert f"({agreed} of {compared} {'assessable cells' if left_out else 'cells'};" in stdout
    assert (f"Not assessable: {left_out} of the 64 cells" in stdout) == (left_out > 0)
    wrong = [r["file"] for r in results
             if r["assessable"] != "no" and r["file"].split("/")[0] != r["predicted_class"]]
    assert [r["file"] for r in rows if r["section"] == "disagreement"] == wrong
    assert all(r["model_sha256"] == results[0]["model_sha256"] for r in rows)
    assert f"sha256 {results[0]['model_sha256']}" in stdout


def test_lab_folder_names_loose_files_and_unreadable_ones(pbc8_originals, tiny_model, tmp_path):
    lab = tmp_path / "lab set"
    for folder, source in (("Neutrophils", "neutrophil"), ("NRBC", "erythroblast"), ("Metamyelocytes", "ig")):
        (lab / folder).mkdir(parents=True)
        for image in sorted((pbc8_originals / source).glob("*.jpg"))[:3]:
            shutil.copy(image, lab / folder / image.name)
    shutil.copy(next((pbc8_originals / "monocyte").glob("*.jpg")), lab / "unsorted.jpg")
    (lab / "NRBC" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    out = tmp_path / "out"
    out.mkdir()
    code, stdout, stderr = run_validate(str(lab), "--model", str(tiny_model.model_path), *outputs(out))
    assert code == 0, stderr
    assert "1 classified image(s) are in no folder named by class" in stdout
    assert "1 image(s) in class folders could not be read" in stdout
    assert len(rows_of(out / "results.csv")) == 11  # every file has its row, compared or not
    overall = {r["label"]: r for r in rows_of(out / "agreement.csv") if r["section"] == "overall"}
    assert overall["Cells compared (reference class and a prediction)"]["count"] == "9"
    assert overall["Classified, but no folder names a class"]["count"] == "1"
    assert overall["Reference class, but the file could not be classified"]["count"] == "1"
    references = {r["reference_class"]: int(r["of"]) for r in rows_of(out / "agreement.csv") if r["label"] == "Sensitivity"}
    assert references == {name: (3 if name in ("neutrophil", "erythroblast", "ig") else 0) for name in CLASS_NAMES}


def test_the_report_files_the_comparison_with_every_disagreeing_cell(pbc8_originals, tiny_model, tmp_path,
                                                                      monkeypatch):
    from hemoapp.gui import report_pdf

    documents = []

    def recorded(*args, **kwargs):
        documents.append(real_report_html(*args, **kwargs))
        return documents[-1]

    real_report_html = report_pdf.report_html
    monkeypatch.setattr(report_pdf, "report_html", recorded)
    report = tmp_path / "validation report.pdf"
    code, stdout, stderr = run_validate(str(pbc8_originals), "--model", str(tiny_model.model_path),
                                        *outputs(tmp_path), "--report", str(report), "--sample-id", "VAL-7")
    assert code == 0, stderr
    assert f"Report written to {report}" in stdout
    rows = rows_of(tmp_path / "results.csv")
    assert {row["sample_id"] for row in rows} == {"VAL-7"}
    disagreeing = [row["file"] for row in rows if row["predicted_class"] != reference_class(row["file"])]
    flagged = {row["file"] for row in rows if row["flag"] == "review"}
    assert disagreeing, "the tiny model disagrees with some folders; the test needs that"
    (document,) = documents
    assert "Agreement with the folders' classes" in document and "VAL-7" in document
    listed = document[document.index("<h3>Disagreements"):document.index("<h3>Flagged cells")]
    assert [name for name in rows_of_files(listed)] == disagreeing  # every one, in the results' order
    data = report.read_bytes()
    assert data.startswith(b"%PDF-") and data.count(b"/Subtype /Image") == len(flagged | set(disagreeing))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["agreement.csv", "results.csv", "validation report.pdf"]


def rows_of_files(html_text: str) -> list[str]:
    """The file column of the report's listed-cell rows (the second cell of each row), as a reader sees it."""
    return [html.unescape(cells[1]).replace("\u200b", "") for cells in
            (re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", html_text))
            if len(cells) > 1]


def test_a_folder_without_class_folders_is_refused_before_classifying(pbc8_originals, tiny_model, tmp_path):
    loose = tmp_path / "loose"
    loose.mkdir()
    for image in sorted((pbc8_originals / "basophil").glob("*.jpg"))[:2]:
        shutil.copy(image, loose / image.name)
    code, stdout, stderr = run_validate(str(loose), "--model", str(tiny_model.model_path), *outputs(tmp_path))
    assert code == 2 and "no image in" in stderr and "folder named by class" in stderr
    assert not (tmp_path / "results.csv").exists() and not (tmp_path / "agreement.csv").exists()
    code, _, stderr = run_validate(str(loose), "--out", str(tmp_path / "a.csv"), "--agreement", str(tmp_path / "a.csv"))
    assert code == 2 and "same file" in stderr
    code, _, stderr = run_validate(str(loose), *outputs(tmp_path), "--report", str(tmp_path / "agreement.csv"))
    assert code == 2 and "same file" in stderr


def test_an_interrupted_validation_keeps_its_results_and_writes_no_agreement(
    pbc8_originals, tiny_model, tmp_path, monkeypatch
):
    real_iter = cli.iter_predictions

    def interrupted_after_one_batch(*args, **kwargs):
        for batch in real_iter(*args, **kwargs):
            yield batch
            raise KeyboardInterrupt

    monkeypatch.setattr(cli, "iter_predictions", interrupted_after_one_batch)
    code, _, stderr = run_validate(str(pbc8_originals), "--model", str(tiny_model.model_path), "--batch-size", "8",
                                   *outputs(tmp_path), "--report", str(tmp_path / "report.pdf"))
    assert code == cli.EXIT_INTERRUPTED
    assert "Interrupted after 8 of 64 images" in stderr and "no agreement or report was written" in stderr
    assert len(rows_of(tmp_path / "results.partial.csv")) == 8
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.partial.csv"]


def test_the_hemoapp_command_dispatches_validate(pbc8_originals, tiny_model, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # the default outputs go to the current folder
    assert entry.main(["validate", str(pbc8_originals), "--model", str(tiny_model.model_path)]) == 0
    assert "Agreement with the folders' classes" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == [validate.DEFAULT_AGREEMENT_NAME, validate.DEFAULT_RESULTS_NAME]
    entry.main(["--help"])
    assert "hemoapp validate FOLDER" in capsys.readouterr().out


def test_the_printout_names_what_the_flag_caught_and_lists_disagreements():
    right = [in_folder("Lymphocytes", predicted("lymphocyte", 0.99, i)) for i in range(3)]
    text = validate.format_agreement(compare(right, 0.9, reference_class))
    assert "100.00% (3 of 3 cells;" in text and "no cell disagrees." in text and "Disagreements" not in text
    wrong = right + [in_folder("Lymphocytes", predicted("monocyte", 0.95, 7))]
    text = validate.format_agreement(compare(wrong, 0.9, reference_class))
    assert "0 of the 1 disagreements are among them." in text
    assert "Lymphocytes/monocyte7.jpg: Lymphocyte in the folder, HemoLens Monocyte (95.0%, NOT flagged)" in text


def test_validate_on_pbc_test_reproduces_the_model_cards_test_figures(repo_root, tmp_path):
    """The card's test accuracy was measured by training's evaluation; the app's own path must give it too."""
    shipped = repo_root / "models" / "hemolens-lite0.tflite"
    test_split = repo_root.parent / "shared" / "datasets" / "pbc8" / "test"
    if not shipped.exists() or not test_split.is_dir():
        pytest.skip("needs the shipped model and ../shared/datasets/pbc8/test")
    card = json.loads(shipped.with_suffix(".card.json").read_text())
    # Over the assessable cells, as the card's assessability block measured them through the app's path.
    measured = card["assessability"]["measured"]["test"]
    code, stdout, stderr = run_validate(str(test_split), "--model", str(shipped), *outputs(tmp_path))
    assert code == 0, stderr
    overall = {r["label"]: r for r in rows_of(tmp_path / "agreement.csv") if r["section"] == "overall"}
    assessable = measured["n"] - measured["not_assessable"]
    assert measured["n"] == card["metrics"]["test"]["n"]
    assert int(overall["Not assessable (reference class, not compared)"]["count"]) == measured["not_assessable"]
    assert int(overall["Agreement"]["of"]) == assessable
    assert int(overall["Agreement"]["count"]) == round(measured["accuracy_assessable"] * assessable)
    assert int(overall["Disagreements not flagged"]["count"]) == measured["assessable_unflagged_wrong"]
    assert int(overall["Flagged for review"]["count"]) == assessable - measured["assessable_unflagged"]
    assert f"Not assessable: {measured['not_assessable']} of the {measured['n']} cells in class folders" in stdout


def test_another_labs_cells_get_the_warning_that_classify_and_the_report_give(repo_root, tmp_path):
    shipped = repo_root / "models" / "hemolens-lite0.tflite"
    bccd = repo_root.parent / "shared" / "datasets" / "bccd-wbc"
    if not shipped.exists() or not bccd.is_dir():
        pytest.skip("needs the shipped model and ../shared/datasets/bccd-wbc")
    lab = tmp_path / "other lab"
    for folder in sorted(p for p in bccd.iterdir() if p.is_dir()):
        (lab / folder.name).mkdir(parents=True)
        for image in sorted(folder.glob("*.jpg"))[:5]:
            shutil.copy(image, lab / folder.name / image.name)
    code, _, stderr = run_validate(str(lab), "--model", str(shipped), *outputs(tmp_path))
    assert code == 0, stderr
    warning = re.search(r"^warning: (\d+)% of the cells \((\d+) of (\d+)\) are below the model's review threshold",
                        stderr, re.MULTILINE)
    assert warning, stderr
    results = rows_of(tmp_path / "results.csv")
    assert int(warning[2]) == sum(1 for row in results if float(row["confidence"]) < 0.99)
    assert int(warning[3]) == len(results)


def test_the_agreement_csv_may_not_name_an_input_image(pbc8_originals, tiny_model, tmp_path):
    lab = tmp_path / "lab"
    shutil.copytree(pbc8_originals / "monocyte", lab / "monocyte")
    image = sorted((lab / "monocyte").glob("*.jpg"))[0]
    before = image.read_bytes()
    code, _, stderr = run_validate(str(lab), "--model", str(tiny_model.model_path), "--out",
                                   str(tmp_path / "r.csv"), "--agreement", str(image))
    assert code == 2 and f"--agreement {image} is one of the input images" in stderr
    assert image.read_bytes() == before and not (tmp_path / "r.csv").exists()


def test_the_printed_agreement_is_over_the_assessable_cells():
    from dataclasses import replace

    cells = [in_folder("neutrophil", predicted("neutrophil", index=i)) for i in range(5)]
    cells += [in_folder("neutrophil", replace(predicted("lymphocyte", index=9), assessable=False,
                                              assessable_reason="blurred (sharpness 2.0)"))]
    text = validate.format_agreement(compare(cells, 0.9, reference_class))
    assert "Agreement with the folders' classes: 100.00% (5 of 5 assessable cells;" in text
    assert ("Not assessable: 1 of the 6 cells in class folders is not assessable and left out of the agreement "
            "(Neutrophil 1).") in text
    assert re.search(r"^Neutrophil +5 +1 +5 ", text, re.MULTILINE)  # compared, not assessable, HemoLens's
    plain = validate.format_agreement(compare(cells[:5], 0.9, reference_class))
    assert "(5 of 5 cells;" in plain and "Not assessable" not in plain


def test_a_blurred_cell_in_a_class_folder_is_left_out_of_the_agreement(repo_root, pbc8_originals, tmp_path):
    from PIL import Image, ImageFilter

    shipped = repo_root / "models" / "hemolens-lite0.tflite"  # a card with its assessability block
    if not shipped.exists():
        pytest.skip("needs the shipped model")

    lab = tmp_path / "lab"
    (lab / "Neutrophils").mkdir(parents=True)
    for image in sorted((pbc8_originals / "neutrophil").glob("*.jpg"))[:3]:
        shutil.copy(image, lab / "Neutrophils" / image.name)
    # A blank picture is an error row; a blurred cell is classified but not assessable.
    sharp = Image.open(sorted((pbc8_originals / "neutrophil").glob("*.jpg"))[3]).convert("RGB")
    sharp.filter(ImageFilter.GaussianBlur(8)).save(lab / "Neutrophils" / "blurred.png")
    out = tmp_path / "out"
    out.mkdir()
    code, stdout, stderr = run_validate(str(lab), "--model", str(shipped), *outputs(out))
    assert code == 0, stderr
    results = {row["file"]: row for row in rows_of(out / "results.csv")}
    assert results["Neutrophils/blurred.png"]["assessable"] == "no"
    assert results["Neutrophils/blurred.png"]["assessable_reason"].startswith("blurred")
    assessable = [row for row in results.values() if row["assessable"] == "yes"]
    agreed = sum(1 for row in assessable if row["predicted_class"] == "neutrophil")
    left_out = len(results) - len(assessable)
    assert f"({agreed} of {len(assessable)} assessable cells;" in stdout
    assert f"Not assessable: {left_out} of the 4 cells in class folders" in stdout
    overall = {r["label"]: r for r in rows_of(out / "agreement.csv") if r["section"] == "overall"}
    assert overall["Cells compared (reference class and a prediction)"]["count"] == str(len(assessable))
    assert overall["Not assessable (reference class, not compared)"]["count"] == str(left_out)
