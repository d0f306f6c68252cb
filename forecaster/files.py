"""Files the commands write: output paths checked before any work, and text written atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from forecaster.errors import UserError


def check_output_file(path, flag: str, suffixes=None) -> Path:
    """An output file path that can be written: not a folder, with an allowed suffix."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{flag} {path} is a folder; expected a file path such as {path / 'out'}"
                        f"{suffixes[0] if suffixes else '.csv'}.")
    if suffixes and path.suffix.lower() not in suffixes:
        raise UserError(
            f"{flag} {path} has the suffix {path.suffix or '(none)'!r}; expected one of "
            f"{', '.join(suffixes)}, such as {path.with_suffix(suffixes[0])}.")
    return path


def check_output_dir(path, flag: str) -> Path:
    """An output folder path: a folder or nothing yet."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UserError(f"{flag} {path} is a file, not a folder; choose a folder name.")
    return path


def write_text_atomically(path, text: str) -> Path:
    """Write `text` to a temporary file beside `path` (creating its folder), then rename it into
    place: readers never see half a file, and an error leaves nothing behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.chmod(temporary, 0o666 & ~umask())  # mkstemp makes it owner-only
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
