"""A lab's own classification, read from folder names: ``neutrophil/cell_001.jpg`` is a neutrophil.

Before a lab relies on HemoLens it checks it against cells its own staff (or its
analyser, verified by staff) have already classified. The usual way to hand over
such a set is a folder per class, as PBC itself and many analyser exports are laid
out. :func:`reference_class` reads the class a file's folders give it, under the
names a haematology lab uses (plurals, ``NRBC``, ``band``, ``metamyelocyte``…), so
the set need not be renamed to HemoLens's class names first.
"""

from __future__ import annotations

import functools
import re

from hemoapp.core.contract import CLASS_NAMES

#: Folder names (normalised by :func:`normalize_name`) that name a class, beyond the
#: class names themselves. The sub-types are mapped as the PBC dataset groups them:
#: promyelocytes, myelocytes and metamyelocytes are immature granulocytes; band and
#: segmented forms are neutrophils.
ALIASES: dict[str, str] = {
    "baso": "basophil",
    "eo": "eosinophil",
    "eos": "eosinophil",
    "erythroblast": "erythroblast",
    "nrbc": "erythroblast",
    "normoblast": "erythroblast",
    "nucleated red cell": "erythroblast",
    "nucleated red blood cell": "erythroblast",
    "nucleated rbc": "erythroblast",
    "immature granulocyte": "ig",
    "promyelocyte": "ig",
    "myelocyte": "ig",
    "metamyelocyte": "ig",
    "lympho": "lymphocyte",
    "lymph": "lymphocyte",
    "mono": "monocyte",
    "neut": "neutrophil",
    "band": "neutrophil",
    "band neutrophil": "neutrophil",
    "segmented neutrophil": "neutrophil",
    "segmented": "neutrophil",
    "seg": "neutrophil",
    "plt": "platelet",
    "thrombocyte": "platelet",
    "giant platelet": "platelet",
}

_SEPARATORS = re.compile(r"[\s_\-.]+")


def normalize_name(folder: str) -> str:
    """A folder name as the alias table spells it: lower case, one space between words, no plural ``s``.

    ``"Band_Neutrophils"`` → ``"band neutrophil"``, ``"NRBCs"`` → ``"nrbc"``, ``"IG"`` → ``"ig"``.
    """
    words = [word for word in _SEPARATORS.split(folder.strip().lower()) if word]
    if words and len(words[-1]) > 3 and words[-1].endswith("s"):
        words[-1] = words[-1][:-1]
    return " ".join(words)


@functools.lru_cache(maxsize=4096)  # the window asks for every row at each summary refresh; few names recur
def class_of_folder(folder: str) -> str | None:
    """The class a folder's name gives its files, or ``None`` when it names no class."""
    name = normalize_name(folder)
    if name in CLASS_NAMES:
        return name
    return ALIASES.get(name)


def reference_class(relpath: str) -> str | None:
    """The class the folders of ``relpath`` (``/``-separated, relative to the opened folder) give its file.

    The innermost folder that names a class decides (``sample_12/neutrophil/x.jpg`` is a
    neutrophil; ``neutrophil/band/x.jpg`` too). A file directly in the opened folder, or
    only in folders that name no class, has none (``None``).
    """
    folders = relpath.split("/")[:-1]
    for folder in reversed(folders):
        found = class_of_folder(folder)
        if found is not None:
            return found
    return None
