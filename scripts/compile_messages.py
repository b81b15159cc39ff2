"""Compile gettext catalogues (.po -> .mo) in pure Python, so a fresh machine needs no msgfmt."""

import sys
from pathlib import Path

import polib


def compile_catalogue(po_path: Path) -> Path:
    mo_path = po_path.with_suffix(".mo")
    catalogue = polib.pofile(str(po_path))
    # Fuzzy entries are guesses; gettext's msgfmt leaves them out, and so do we.
    for entry in catalogue.fuzzy_entries():
        catalogue.remove(entry)
    catalogue.save_as_mofile(str(mo_path))
    return mo_path


if __name__ == "__main__":
    paths = [Path(arg) for arg in sys.argv[1:]] or sorted(Path("locale").glob("*/LC_MESSAGES/*.po"))
    for path in paths:
        print(f"compiled {compile_catalogue(path)}")
