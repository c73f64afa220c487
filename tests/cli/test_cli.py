"""``hemoapp classify`` end to end, and the ``hemoapp`` entry point."""

from __future__ import annotations

import csv
import errno
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import types
from pathlib import Path

import pytest

from hemoapp import __main__ as entry
from hemoapp import __version__, cli
from hemoapp.core.contract import CLASS_NAMES, IMAGE_SIZE
from hemoapp.core.export import PREDICTION_COLUMNS
from hemoapp.core.reference_labels import reference_class
from hemoapp.core.summary import summarize
from hemotest import corpus as c
from hemotest.predictions import make


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def read_rows(path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames) == PREDICTION_COLUMNS
        return list(reader)


def test_hostile_corpus_every_file_gets_a_row(corpus, tiny_model, tmp_path):
    folder, expected = corpus
    out = tmp_path / "results.csv"
    report = tmp_path / "report.pdf"
    code, stdout, stderr = run_cli(str(folder), "--model", str(tiny_model.model_path), "--out", str(out),
                                   "--batch-size", "3", "--report", str(report))
    assert code == 0, stderr
    assert report.read_bytes().startswith(b"%PDF-")  # hostile names and unreadable files do not stop the report
    rows = read_rows(out)
    assert sorted(r["file"].removeprefix("'") for r in rows) == sorted(expected)
    for row in rows:
        outcome = expected[row["file"].removeprefix("'")]
        if outcome == c.OK:
            assert row["predicted_class"] in CLASS_NAMES and row["error_kind"] == "", row
            assert 0 < float(row["confidence"]) <= 1
        else:
            assert row["error_kind"] == outcome and row["error"] and row["flag"] == "error", row
    errors = sum(1 for v in expected.values() if v != c.OK)
    assert f"{errors} file(s) could not be read" in stdout
    assert f"Results written to {out}" in stdout
    assert "warning: skipped sub/back_to_root" in stderr or sys.platform == "win32"
    # Natural order in the CSV, and the formula-looking name is neutralised.
    files = [r["file"] for r in rows]
    assert files.index("sub/img2.png") < files.index("sub/img10.png")
    assert "'=formula.png" in files


def test_every_file_of_the_folder_is_a_row_or_a_named_skip(tiny_model, tmp_path):
    """A still GIF and a WebP are classified, an animated GIF is an error row, a .txt is named as skipped."""
    from PIL import Image

    folder = tmp_path / "export"
    folder.mkdir()
    c.rgb_image(200, 200).save(folder / "still.gif")
    c.rgb_image(200, 200).save(folder / "cell.webp", "WEBP", quality=90)
    frames = [Image.new("RGB", (64, 64), colour) for colour in ("red", "blue")]
    frames[0].save(folder / "moving.gif", save_all=True, append_images=frames[1:], duration=100)
    (folder / "notes.txt").write_text("not an image\n")
    out = tmp_path / "r.csv"
    code, stdout, stderr = run_cli(str(folder), "--model", str(tiny_model.model_path), "--out", str(out))
    assert code == 0, stderr
    rows = {row["file"]: row for row in read_rows(out)}
    assert set(rows) == {"cell.webp", "moving.gif", "still.gif"}
    assert rows["still.gif"]["predicted_class"] in CLASS_NAMES and rows["cell.webp"]["predicted_class"] in CLASS_NAMES
    assert rows["moving.gif"]["error_kind"] == "animated-image" and "2 frames" in rows["moving.gif"]["error"]
    assert "warning: skipped notes.txt: not an image file type" in stderr


def test_real_analyser_images_end_to_end(pbc8_originals, tiny_model, tmp_path):
    out = tmp_path / "pbc.csv"
    code, stdout, stderr = run_cli(str(pbc8_originals), "--model", str(tiny_model.model_path), "--out", str(out))
    assert code == 0, stderr
    rows = read_rows(out)
    assert len(rows) == 64
    assert all(r["error_kind"] == "" and r["predicted_class"] in CLASS_NAMES for r in rows)
    assert {r["file"].split("/")[0] for r in rows} == set(CLASS_NAMES)
    for row in rows:
        probabilities = [float(row[f"p_{name}"]) for name in CLASS_NAMES]
        assert sum(probabilities) == pytest.approx(1.0, abs=1e-4)
        assert float(row["confidence"]) == pytest.approx(max(probabilities), abs=1e-6)
        assert row["model_name"] == "tiny-test" and len(row["model_sha256"]) == 64
    assert "Classified 64 of 64 images" in stdout
    assert "Total classified" in stdout


def test_report_pdf_lists_every_flagged_cell_with_its_picture(pbc8_originals, tiny_model, tmp_path):
    out, report = tmp_path / "pbc.csv", tmp_path / "pbc report.pdf"
    code, stdout, stderr = run_cli(str(pbc8_originals), "--model", str(tiny_model.model_path), "--out", str(out),
                                   "--report", str(report))
    assert code == 0, stderr
    assert f"Report written to {report}" in stdout
    rows = read_rows(out)
    flagged = {row["file"] for row in rows if row["flag"] == "review"}
    assert flagged, "the tiny model flags cells; the test needs some"
    # The originals sit in class folders, so the report also shows the cells the folders disagree with.
    disagreeing = {row["file"] for row in rows if row["predicted_class"] != reference_class(row["file"])}
    data = report.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert data.count(b"/Subtype /Image") == len(flagged | disagreeing)  # one picture per listed cell
    assert f"HemoLens report: {pbc8_originals}".encode("utf-16-be") in data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pbc report.pdf", "pbc.csv"]  # nothing left over


def test_another_labs_cells_get_a_warning_and_the_analysers_own_do_not(repo_root, pbc8_originals, tmp_path):
    shipped = repo_root / "models" / "hemolens-lite0.tflite"
    bccd = repo_root.parent / "shared" / "datasets" / "bccd-wbc"
    if not shipped.exists() or not bccd.is_dir():
        pytest.skip("needs the shipped model and ../shared/datasets/bccd-wbc")
    code, _, stderr = run_cli(str(bccd), "--model", str(shipped), "--out", str(tmp_path / "bccd.csv"))
    assert code == 0, stderr
    warning = re.search(r"^warning: (\d+)% of the cells \((\d+) of (\d+)\) are below the model's review threshold",
                        stderr, re.MULTILINE)
    assert warning, stderr
    unsure = sum(1 for row in read_rows(tmp_path / "bccd.csv") if float(row["confidence"]) < 0.99)
    assert int(warning[2]) == unsure and int(warning[3]) == len(read_rows(tmp_path / "bccd.csv"))
    code, _, stderr = run_cli(str(pbc8_originals), "--model", str(shipped), "--out", str(tmp_path / "pbc.csv"))
    assert code == 0 and "review threshold" not in stderr, stderr


def test_a_report_that_cannot_be_written_exits_2_and_keeps_the_csv(pbc8_originals, tiny_model, tmp_path, monkeypatch):
    from hemoapp.gui import report_pdf

    def full_disk(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(report_pdf, "write_summary_report", full_disk)
    out = tmp_path / "pbc.csv"
    code, stdout, stderr = run_cli(str(pbc8_originals), "--model", str(tiny_model.model_path), "--out", str(out),
                                   "--report", str(tmp_path / "r.pdf"))
    assert code == 2 and "cannot write the report" in stderr and "No space left on device" in stderr
    assert f"Results written to {out}" in stdout and len(read_rows(out)) == 64


def test_interrupted_batch_keeps_its_results_beside_the_output(pbc8_originals, tiny_model, tmp_path, monkeypatch):
    out = tmp_path / "pbc.csv"
    out.write_text("an earlier, complete run\n")
    real_iter = cli.iter_predictions

    def interrupted_after_two_batches(*args, **kwargs):
        for number, batch in enumerate(real_iter(*args, **kwargs), start=1):
            yield batch
            if number == 2:
                raise KeyboardInterrupt  # Ctrl+C while the third batch runs

    monkeypatch.setattr(cli, "iter_predictions", interrupted_after_two_batches)
    code, _, stderr = run_cli(str(pbc8_originals), "--model", str(tiny_model.model_path), "--out", str(out),
                              "--batch-size", "8")
    assert code == cli.EXIT_INTERRUPTED
    partial = tmp_path / "pbc.partial.csv"
    assert f"Interrupted after 16 of 64 images; the results so far are in {partial}" in stderr
    rows = read_rows(partial)
    assert len(rows) == 16 and all(r["predicted_class"] in CLASS_NAMES for r in rows)
    assert out.read_text() == "an earlier, complete run\n"  # never replaced by a partial batch


def _disk_full_for(monkeypatch, *full_folders):
    """Make CSV writes into ``full_folders`` fail as on a full disk (ENOSPC)."""
    import errno

    real_write = cli.write_predictions_csv

    def write(path, *args, **kwargs):
        if Path(path).parent in full_folders:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real_write(path, *args, **kwargs)

    monkeypatch.setattr(cli, "write_predictions_csv", write)


def test_a_full_disk_at_the_end_keeps_the_results_in_the_temp_folder(pbc8_originals, tiny_model, tmp_path, monkeypatch):
    export, temp = tmp_path / "export", tmp_path / "temp"
    export.mkdir()
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    _disk_full_for(monkeypatch, export)
    code, stdout, stderr = run_cli(str(pbc8_originals), "--model", str(tiny_model.model_path),
                                   "--out", str(export / "pbc.csv"))
    assert code == cli.EXIT_FATAL
    assert "No space left on device" in stderr
    (rescued,) = temp.glob("pbc-unsaved-*.csv")
    assert f"saved to {rescued} instead" in stderr
    rows = read_rows(rescued)
    assert len(rows) == 64 and all(r["predicted_class"] in CLASS_NAMES for r in rows)
    assert not any(export.iterdir())
    # the counts are printed as usual, and the run does not claim a file it did not write
    assert "Total classified" in stdout and "Results NOT written to" in stdout


def test_when_nothing_can_be_written_the_counts_are_still_printed(pbc8_originals, tiny_model, tmp_path, monkeypatch):
    export, temp = tmp_path / "export", tmp_path / "temp"
    export.mkdir()
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    _disk_full_for(monkeypatch, export, temp)
    code, stdout, stderr = run_cli(str(pbc8_originals), "--model", str(tiny_model.model_path),
                                   "--out", str(export / "pbc.csv"))
    assert code == cli.EXIT_FATAL
    assert "could not be saved anywhere" in stderr
    assert re.search(r"Total classified\s+64\n", stdout)
    assert not any(export.iterdir()) and not any(temp.iterdir())


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGINT"])
def test_a_stop_signal_ends_the_batch_cleanly_and_keeps_its_results(
    pbc8_originals, tiny_model, tmp_path, monkeypatch, signal_name
):
    import signal

    out = tmp_path / "pbc.csv"
    real_iter = cli.iter_predictions

    def signalled_after_two_batches(*args, **kwargs):
        for number, batch in enumerate(real_iter(*args, **kwargs), start=1):
            yield batch
            if number == 2:
                signal.raise_signal(getattr(signal, signal_name))  # e.g. the session ends: SIGTERM

    monkeypatch.setattr(cli, "iter_predictions", signalled_after_two_batches)
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    code, _, stderr = run_cli(str(pbc8_originals), "--model", str(tiny_model.model_path), "--out", str(out),
                              "--batch-size", "8")
    assert code == cli.EXIT_INTERRUPTED
    assert "Interrupted after 16 of 64 images" in stderr
    assert len(read_rows(tmp_path / "pbc.partial.csv")) == 16 and not out.exists()
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers  # restored


def test_default_output_goes_to_the_current_folder(tiny_model, tmp_path, monkeypatch):
    images = tmp_path / "images"
    images.mkdir()
    (images / "a.png").write_bytes(c.encode(c.rgb_image(), "PNG"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    code, stdout, _ = run_cli(str(images), "--model", str(tiny_model.model_path), "--threads", "1")
    assert code == 0
    assert (work / cli.DEFAULT_OUT_NAME).is_file()
    assert not (images / cli.DEFAULT_OUT_NAME).exists()  # never writes into the export folder
    assert str(work / cli.DEFAULT_OUT_NAME) in stdout


def test_paths_given_relative_to_the_start_are_named_without_dot_dot(tiny_model, tmp_path, monkeypatch):
    """``hemoapp classify ../images --out ../r.csv``: the terminal and the report name the folders a user knows."""
    images = tmp_path / "images"
    images.mkdir()
    (images / "a.png").write_bytes(c.encode(c.rgb_image(), "PNG"))
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    code, stdout, stderr = run_cli("../images", "--model", str(tiny_model.model_path), "--threads", "1",
                                   "--out", "../r.csv", "--report", "../r.pdf")
    assert code == 0, stderr
    assert f"Results written to {tmp_path / 'r.csv'}\n" in stdout
    assert f"Report written to {tmp_path / 'r.pdf'}" in stdout
    assert f"HemoLens report: {images}".encode("utf-16-be") in (tmp_path / "r.pdf").read_bytes()


def test_single_file_and_empty_folder(tiny_model, tmp_path):
    image = tmp_path / "one.jpg"
    image.write_bytes(c.encode(c.rgb_image(), "JPEG"))
    code, _, _ = run_cli(str(image), "--model", str(tiny_model.model_path), "--out", str(tmp_path / "one.csv"))
    assert code == 0 and len(read_rows(tmp_path / "one.csv")) == 1
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, stderr = run_cli(str(empty), "--model", str(tiny_model.model_path), "--out", str(tmp_path / "e.csv"))
    assert code == 0 and "no images found" in stderr
    assert read_rows(tmp_path / "e.csv") == []


def test_fatal_errors_exit_2_with_a_message(tiny_model, tmp_path, monkeypatch):
    from hemoapp.core import classifier as classifier_module

    monkeypatch.setattr(classifier_module, "find_default_model", lambda: None)
    out = str(tmp_path / "r.csv")
    code, _, stderr = run_cli(str(tmp_path), "--out", out)
    assert code == 2 and "No model is installed" in stderr

    code, _, stderr = run_cli(str(tmp_path / "missing"), "--model", str(tiny_model.model_path), "--out", out)
    assert code == 2 and "does not exist" in stderr

    text = tmp_path / "notes.txt"
    text.write_text("x")
    code, _, stderr = run_cli(str(text), "--model", str(tiny_model.model_path), "--out", out)
    assert code == 2 and "not an image file type" in stderr

    bad = tmp_path / "bad-model"
    bad.mkdir()
    (bad / "m.tflite").write_bytes(tiny_model.model_path.read_bytes())
    wrong_size = tiny_model.card_path.read_text().replace(f'"input_size": {IMAGE_SIZE}', '"input_size": 64')
    (bad / "m.card.json").write_text(wrong_size)
    code, _, stderr = run_cli(str(tmp_path), "--model", str(bad / "m.tflite"), "--out", out)
    assert code == 2 and "input size 64" in stderr

    code, _, stderr = run_cli(str(tmp_path), "--model", str(tiny_model.model_path), "--out", str(tmp_path / "no" / "r.csv"))
    assert code == 2 and "does not exist" in stderr
    assert not os.path.exists(out)

    # A report that could not be written is found out before the batch, not after it.
    code, _, stderr = run_cli(str(tmp_path), "--model", str(tiny_model.model_path), "--out", out,
                              "--report", str(tmp_path / "no" / "r.pdf"))
    assert code == 2 and f"the folder {tmp_path / 'no'} does not exist" in stderr and not os.path.exists(out)
    code, _, stderr = run_cli(str(tmp_path), "--model", str(tiny_model.model_path), "--out", out, "--report", out)
    assert code == 2 and "--report and --out are the same file" in stderr


def test_bad_arguments_exit_2():
    with pytest.raises(SystemExit) as exited:
        cli.main(["folder", "--batch-size", "0"], stdout=io.StringIO(), stderr=io.StringIO())
    assert exited.value.code == 2


def test_progress_bar_on_a_terminal_and_lines_otherwise():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    tty = Terminal()
    bar = cli.Progress(tty, width=10)
    bar.update(5, 10, 2.0)
    bar.close()
    assert tty.getvalue().startswith("\r[#####-----]  50% 5/10") and "ETA 0:02" in tty.getvalue()

    plain = io.StringIO()
    lines = cli.Progress(plain)
    for done in range(1, 101):
        lines.update(done, 100, done / 10)
    text = plain.getvalue()
    assert "\r" not in text
    assert len(text.splitlines()) == 11  # one line per 10%, plus the 1% start
    assert text.splitlines()[-1].startswith("classified 100/100 (100%)")


def test_module_entry_point_runs_headless(corpus, tiny_model, tmp_path, repo_root):
    folder, expected = corpus
    out = tmp_path / "sub.csv"
    env = {**os.environ, "PYTHONPATH": str(repo_root)}
    result = subprocess.run(
        [sys.executable, "-m", "hemoapp", "classify", str(folder), "--model", str(tiny_model.model_path), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert len(read_rows(out)) == len(expected)
    assert "classified" in result.stderr and "\r" not in result.stderr  # plain progress lines off a terminal

    version = subprocess.run(
        [sys.executable, "-m", "hemoapp", "--version"], capture_output=True, text=True, timeout=60, env=env
    )
    assert version.returncode == 0 and version.stdout.strip() == f"HemoLens {__version__}"

    missing = subprocess.run(
        [sys.executable, "-m", "hemoapp", "classify", str(tmp_path / "nope"), "--model", str(tiny_model.model_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
    )
    assert missing.returncode == 2 and "hemoapp: error:" in missing.stderr


def test_main_launches_gui_with_paths(monkeypatch):
    calls = []
    fake = types.ModuleType("hemoapp.gui.app")
    fake.run_gui = lambda paths: calls.append(paths) or 7
    monkeypatch.setitem(sys.modules, "hemoapp.gui.app", fake)
    assert entry.main([]) == 7
    assert entry.main(["/data/folder", "cell.jpg", "-psn_0_123"]) == 7
    assert calls == [[], ["/data/folder", "cell.jpg"]]


def test_main_reports_missing_gui_and_unknown_options(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "hemoapp.gui.app", None)  # import fails
    assert entry.main(["folder"]) == 2
    assert "hemoapp classify FOLDER" in capsys.readouterr().err
    assert entry.main(["--frobnicate"]) == 2
    assert "unknown option --frobnicate" in capsys.readouterr().err
    assert entry.main(["--help"]) == 0
    assert "hemoapp classify FOLDER" in capsys.readouterr().out


def test_the_printed_differential_gives_each_class_its_counting_interval():
    text = cli.format_summary(summarize(make({"monocyte": 5, "neutrophil": 95, "platelet": 3}), 0.9))
    assert "White-cell differential (100 white cells; 95% interval from counting alone):" in text
    # 5 of 100: exact limits 1.64-11.28% (Rümke's table: 2-11), rounded outwards.
    assert re.search(r"^  Monocyte +5\.0%   1\.6–11\.3%$", text, re.MULTILINE)
    assert re.search(r"^  Basophil +0\.0%   0\.0–3\.7%$", text, re.MULTILINE)
    assert "Erythroblasts per 100 white cells: 0.0 (95% interval 0.0–3.8)" in text


def test_the_sample_id_goes_into_every_row_the_printout_and_the_report(tiny_model, tmp_path, monkeypatch):
    from hemoapp.gui import report_pdf

    folder = tmp_path / "cells"
    folder.mkdir()
    for number in range(3):
        (folder / f"c{number}.jpg").write_bytes(c.encode(c.rgb_image(seed=number), "JPEG"))
    real_writer, contexts = report_pdf.write_summary_report, []

    def recording_writer(path, summary, info, context, *args, **kwargs):
        contexts.append(context)
        return real_writer(path, summary, info, context, *args, **kwargs)

    monkeypatch.setattr(report_pdf, "write_summary_report", recording_writer)
    out, report = tmp_path / "r.csv", tmp_path / "r.pdf"
    code, stdout, stderr = run_cli(str(folder), "--model", str(tiny_model.model_path), "--out", str(out),
                                   "--report", str(report), "--sample-id", " S-0042\n", "--comment", "recount\tlater")
    assert code == 0, stderr
    assert [row["sample_id"] for row in read_rows(out)] == ["S-0042"] * 3  # cleaned as the app cleans it
    assert "Sample ID: S-0042\n" in stdout
    assert [(ctx.sample.sample_id, ctx.sample.comment) for ctx in contexts] == [("S-0042", "recount later")]
    assert report.read_bytes().startswith(b"%PDF-")
    # Without the option the column is there and empty, and nothing is printed about it.
    code, stdout, _ = run_cli(str(folder), "--model", str(tiny_model.model_path), "--out", str(out))
    assert code == 0 and {row["sample_id"] for row in read_rows(out)} == {""} and "Sample ID" not in stdout


def test_the_usage_names_only_real_options_and_the_report_of_each_command(capsys):
    """``hemoapp --help`` abbreviates each command: what it names must exist, and the report must be there."""
    from hemoapp import validate

    assert entry.main(["--help"]) == 0
    usage = capsys.readouterr().out
    for command, parser in (("classify", cli.build_parser()), ("validate", validate.build_parser())):
        (line,) = [line for line in usage.splitlines() if f"hemoapp {command} FOLDER" in line]
        named = set(re.findall(r"--[a-z-]+", line))
        real = {option for action in parser._actions for option in action.option_strings}
        assert named <= real, (command, named - real)
        assert "--report" in named and "[OPTIONS]" in line, line
    assert "'hemoapp COMMAND --help'" in usage


def test_a_report_on_a_full_disk_exits_2_and_leaves_the_old_report_byte_identical(pbc8_originals, tiny_model,
                                                                                   tmp_path, repo_root):
    """Issue 41's case: Qt wrote a cut-short PDF over a good report and the command exited 0."""
    from hemotest.full_disk import limit_file_size

    old = tmp_path / "old.pdf"
    old.write_bytes(b"%PDF-1.4\n% an earlier, good report\n%%EOF\n")
    before = old.read_bytes()
    out = tmp_path / "x.csv"
    # 200 KB: room for the results CSV (about 21 KB), not for the report (about 1.3 MB).
    result = subprocess.run(
        [sys.executable, "-m", "hemoapp", "classify", str(pbc8_originals), "--model", str(tiny_model.model_path),
         "--out", str(out), "--report", str(old)],
        capture_output=True, text=True, timeout=300, preexec_fn=lambda: limit_file_size(200_000),
        env={**os.environ, "PYTHONPATH": str(repo_root), "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert result.returncode == 2, result.stderr
    assert f"cannot write the report {old}: the PDF was cut short" in result.stderr
    assert "is the disk full?" in result.stderr and "old.pdf was left as it was" in result.stderr
    assert "Report written" not in result.stdout
    assert old.read_bytes() == before
    assert len(read_rows(out)) == 64
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.pdf", "x.csv"]  # no temporary file left


@pytest.fixture()
def copied_cells(pbc8_originals, tmp_path):
    """Two classes of the analyser's images, copied where a test may (try to) write over them."""
    folder = tmp_path / "cells"
    for name in ("basophil", "neutrophil"):
        shutil.copytree(pbc8_originals / name, folder / name)
    return folder


@pytest.mark.parametrize("option", ["--out", "--report"])
def test_an_output_naming_an_input_image_is_refused_before_classifying(copied_cells, tiny_model, tmp_path, option):
    image = sorted((copied_cells / "basophil").glob("*.jpg"))[0]
    before = image.read_bytes()
    others = ["--out", str(tmp_path / "r.csv")] if option == "--report" else []
    code, stdout, stderr = run_cli(str(copied_cells), "--model", str(tiny_model.model_path), option, str(image),
                                   *others)
    assert code == 2
    assert f"hemoapp: error: {option} {image} is one of the input images; HemoLens never writes over its input" \
        in stderr
    assert "Classified" not in stdout and "classified " not in stderr  # refused before the batch, not after it
    assert image.read_bytes() == before
    assert sorted(p.name for p in image.parent.iterdir()) == sorted(p.name for p in image.parent.glob("*.jpg"))


def test_a_hard_link_or_another_spelling_of_an_input_is_refused_too(copied_cells, tiny_model, tmp_path):
    image = sorted((copied_cells / "neutrophil").glob("*.jpg"))[0]
    before = image.read_bytes()
    backup = tmp_path / "backup.jpg"
    os.link(image, backup)  # e.g. a backup made with cp -l
    code, _, stderr = run_cli(str(copied_cells), "--model", str(tiny_model.model_path), "--out", str(backup))
    assert code == 2 and f"(the same file as the input {image})" in stderr
    spelled = copied_cells / "basophil" / ".." / "neutrophil" / image.name
    code, _, stderr = run_cli(str(copied_cells), "--model", str(tiny_model.model_path), "--out", str(tmp_path / "r.csv"),
                              "--report", str(spelled))
    assert code == 2 and "is one of the input images" in stderr
    assert image.read_bytes() == before == backup.read_bytes()
