"""Reading and writing model artefacts as plain JSON and numpy `.npz` / `.npy` files, never pickle.

Every failure to read (missing file, truncated archive, wrong keys, wrong model) becomes an
`ArtefactError` whose message names the file, so the Django side can log it and fall back to the
next model of the cascade instead of answering 500.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .base import ArtefactError

MANIFEST = "manifest.json"


def write_json(path: Path, payload: Mapping[str, Any]) -> None:
    # allow_nan=False: NaN/inf are not JSON, and a file other tools cannot read is a corrupt artefact.
    path.write_text(json.dumps(payload, indent=2, sort_keys=True, allow_nan=False), encoding="utf-8")


def read_json(path: Path) -> dict[str, Any]:
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ArtefactError(f"artefact file {path} is missing") from error
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ArtefactError(f"artefact file {path} is not readable JSON: {error}") from error
    if not isinstance(payload, dict):
        raise ArtefactError(f"artefact file {path} does not hold a JSON object")
    return payload


def str_array(values: Sequence[str]) -> np.ndarray:
    """A fixed-width unicode array: object arrays would need pickle to be stored."""
    return np.asarray(list(values), dtype=np.str_) if len(values) else np.zeros(0, dtype="<U1")


def write_arrays(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    for key, array in arrays.items():
        if np.asarray(array).dtype == object:
            raise TypeError(f"array {key!r} has dtype object, which cannot be stored without pickle")
    # Uncompressed: the big arrays are float matrices that compress badly, and loading stays fast.
    with path.open("wb") as handle:
        np.savez(handle, **{key: np.asarray(array) for key, array in arrays.items()})


def read_arrays(path: Path, required: Sequence[str]) -> dict[str, np.ndarray]:
    """Load every array of an `.npz` file into memory, checking the required keys are there."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except FileNotFoundError as error:
        raise ArtefactError(f"artefact file {path} is missing") from error
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as error:
        raise ArtefactError(f"artefact file {path} is corrupt: {error}") from error
    missing = [key for key in required if key not in arrays]
    if missing:
        raise ArtefactError(f"artefact file {path} lacks the arrays {missing}")
    return arrays


def array_file(folder: Path, key: str) -> Path:
    return folder / f"{key}.npy"


def write_array_files(folder: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """One uncompressed `.npy` file per array, so that readers can memory-map them."""
    for key, array in arrays.items():
        if np.asarray(array).dtype == object:
            raise TypeError(f"array {key!r} has dtype object, which cannot be stored without pickle")
    for key, array in arrays.items():
        np.save(array_file(folder, key), np.ascontiguousarray(array), allow_pickle=False)


def read_array_files(folder: Path, keys: Sequence[str], *, mapped: Sequence[str] = ()) -> dict[str, np.ndarray]:
    """Load `<key>.npy` for every key; those in `mapped` are memory-mapped read-only (pages
    shared by every process that maps the same file), the others read into memory."""
    arrays: dict[str, np.ndarray] = {}
    for key in keys:
        path = array_file(folder, key)
        try:
            arrays[key] = np.load(path, mmap_mode="r" if key in mapped else None, allow_pickle=False)
        except FileNotFoundError as error:
            raise ArtefactError(f"artefact file {path} is missing") from error
        except (OSError, ValueError, EOFError) as error:
            raise ArtefactError(f"artefact file {path} is corrupt: {error}") from error
    return arrays


def write_manifest(folder: Path, model_name: str, format_version: int, **meta: Any) -> None:
    write_json(folder / MANIFEST, {"model": model_name, "format": format_version, **meta})


def read_manifest(folder: Path, model_name: str, format_version: int | tuple[int, ...]) -> dict[str, Any]:
    """Read the manifest and check it belongs to this model and to a format version this code
    reads (one version, or a tuple of them when an older layout is still read)."""
    accepted = (format_version,) if isinstance(format_version, int) else tuple(format_version)
    if not folder.is_dir():
        raise ArtefactError(f"artefact folder {folder} does not exist")
    manifest = read_json(folder / MANIFEST)
    if manifest.get("model") != model_name:
        raise ArtefactError(f"artefact in {folder} is for model {manifest.get('model')!r}, not {model_name!r}")
    if manifest.get("format") not in accepted:
        readable = " or ".join(str(version) for version in accepted)
        raise ArtefactError(
            f"artefact in {folder} has format {manifest.get('format')!r}; this code reads format {readable}"
        )
    return manifest


def require(condition: bool, message: str) -> None:
    """Raise `ArtefactError` unless a consistency check of loaded arrays holds."""
    if not condition:
        raise ArtefactError(message)
