"""Add or update Chinese translations from a JSON file, then compile the catalogue.

Several people (or helpers) add strings at once; each writes its own JSON and runs this, and a
file lock keeps their read-modify-write of the .po file from overwriting one another.
`make makemessages` later keeps these entries (their msgids are in the code) and drops unused ones.

JSON: either {"msgid": "msgstr", ...} or a list of objects with msgid, msgstr and optionally
msgctxt, msgid_plural and msgstr_plural ({"0": "..."}).
"""

import fcntl
import json
import sys
from pathlib import Path

import polib
from compile_messages import compile_catalogue

PO_PATH = Path(__file__).resolve().parent.parent / "locale/zh_Hans/LC_MESSAGES/django.po"


def entries_from(data: object) -> list[dict[str, object]]:
    if isinstance(data, dict):
        return [{"msgid": key, "msgstr": value} for key, value in data.items()]
    assert isinstance(data, list)
    return data


def merge(items: list[dict[str, object]]) -> int:
    changed = 0
    with open(PO_PATH.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        catalogue = polib.pofile(str(PO_PATH))
        for item in items:
            msgid = str(item["msgid"])
            msgctxt = item.get("msgctxt")
            entry = catalogue.find(msgid, msgctxt=msgctxt) if msgctxt else catalogue.find(msgid)
            if entry is None:
                entry = polib.POEntry(msgid=msgid, msgctxt=msgctxt)
                catalogue.append(entry)
            if "msgid_plural" in item:
                entry.msgid_plural = str(item["msgid_plural"])
                plural = item.get("msgstr_plural") or {"0": item.get("msgstr", "")}
                assert isinstance(plural, dict)
                entry.msgstr_plural = {int(k): str(v) for k, v in plural.items()}
            else:
                entry.msgstr = str(item["msgstr"])
            if "fuzzy" in entry.flags:
                entry.flags.remove("fuzzy")
            changed += 1
        catalogue.save(str(PO_PATH))
        compile_catalogue(PO_PATH)
    return changed


if __name__ == "__main__":
    total = 0
    for name in sys.argv[1:]:
        total += merge(entries_from(json.loads(Path(name).read_text(encoding="utf-8"))))
    print(f"{total} entries merged into {PO_PATH.name} and compiled")
