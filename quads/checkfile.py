"""Is a ``torch.save`` file intact? ``torch_file_problem`` checks it without loading it.

``torch.save`` writes a zip archive whose every record carries a CRC-32 (torch's default,
``torch.serialization.set_crc32_options``), but ``torch.load`` does not check them: garbage in the
middle of a file loads as changed values. Python's ``zipfile`` checks every CRC (about 0.05 s for
160 MB here), so a truncated or overwritten checkpoint or feature file is found before it is used,
with no extra file beside it and for files written before this check existed.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path


def torch_file_problem(path: Path) -> str | None:
    """What is wrong with the ``torch.save`` file at ``path`` (truncated, a record whose CRC-32
    does not match, not a torch zip file), or None when every record reads back intact."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as err:
        return f"not a complete torch file ({err})"
    except OSError as err:
        return f"unreadable ({err.strerror or err})"
    if bad is not None:
        return f"record {bad} does not match its CRC-32 (overwritten on disk)"
    return None
