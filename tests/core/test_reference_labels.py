"""Folder names read as a lab's own classes (hemoapp.core.reference_labels)."""

from __future__ import annotations

import pytest

from hemoapp.core.contract import CLASS_NAMES
from hemoapp.core.reference_labels import class_of_folder, normalize_name, reference_class


@pytest.mark.parametrize("name", CLASS_NAMES)
def test_every_class_name_names_its_class_in_any_case_and_plural(name):
    assert class_of_folder(name) == name
    assert class_of_folder(name.upper()) == name
    if name != "ig":
        assert class_of_folder(name.capitalize() + "s") == name


@pytest.mark.parametrize(
    ("folder", "expected"),
    [
        ("NRBC", "erythroblast"),
        ("NRBCs", "erythroblast"),
        ("Nucleated_Red_Blood_Cells", "erythroblast"),
        ("Metamyelocytes", "ig"),
        ("myelocyte", "ig"),
        ("Promyelocyte", "ig"),
        ("Immature granulocytes", "ig"),
        ("Band_Neutrophils", "neutrophil"),
        ("segmented-neutrophil", "neutrophil"),
        ("SNE", None),  # PBC's file prefixes are not folder names a lab writes
        ("Thrombocytes", "platelet"),
        ("giant platelets", "platelet"),
        ("smudge cells", None),
        ("blast", None),  # not one of the 8 classes: must not be compared with anything
        ("", None),
    ],
)
def test_the_names_a_lab_uses(folder, expected):
    assert class_of_folder(folder) == expected


def test_normalized_names():
    assert normalize_name("  Band__Neutrophils ") == "band neutrophil"
    assert normalize_name("IG") == "ig"
    assert normalize_name("Eos") == "eos"  # three letters: not a plural


def test_the_innermost_folder_that_names_a_class_decides():
    assert reference_class("sample_12/neutrophil/cell 1.jpg") == "neutrophil"
    assert reference_class("lymphocyte/atypical/x.png") == "lymphocyte"
    assert reference_class("neutrophil/band/x.png") == "neutrophil"
    assert reference_class("ig/neutrophil/x.png") == "neutrophil"
    assert reference_class("x.jpg") is None
    assert reference_class("sample_12/x.jpg") is None
    # The file's own name is not a folder.
    assert reference_class("neutrophil.jpg") is None
