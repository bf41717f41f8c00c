"""The rsc15-100k click sample (YOOCHOOSE TSV: SessionId, ItemId, Time) as the standalone
benchmarks bench/gru4rec_rsc15.py and bench/sknn_rsc15.py read it, and their shared protocol."""

from __future__ import annotations

import csv
from pathlib import Path

DEFAULT_DATA = Path("/work/shared/data/rsc15-100k")
CUTOFF = 20
FILES = {
    "test": ("yoochoose-clicks-100k_train_full.txt", "yoochoose-clicks-100k_test.txt"),
    "valid": ("yoochoose-clicks-100k_train_tr.txt", "yoochoose-clicks-100k_train_valid.txt"),
}


def read_clicks(path: Path) -> dict[str, list[tuple[float, str]]]:
    """(time, item) clicks per session id: sessions in file order, clicks in time order (stable:
    equal times keep file order)."""
    clicks: dict[str, list[tuple[float, str]]] = {}
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            clicks.setdefault(row["SessionId"], []).append((float(row["Time"]), row["ItemId"]))
    for session in clicks.values():
        session.sort(key=lambda click: click[0])
    return clicks
