"""Where an export goes: stdout, or a file that appears atomically (temp file, fsync, rename).

A half-written file never carries the final name: an export killed midway leaves at most a
``.<name>.tmp-…`` next to it, and an existing file is replaced only by a complete one.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from luxlog.errors import ExportError


@contextlib.contextmanager
def opened(target: str) -> Iterator[BinaryIO]:
    """A binary stream for ``target`` (``-``: stdout); the file is renamed into place on
    success and removed on any failure."""
    if target == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    path = Path(target)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent or ".")
    except OSError as exc:
        raise ExportError(
            f"cannot write {path}: {exc.strerror} (is the directory there and writable?)"
        ) from None
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would hide the file from other users
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise ExportError(f"cannot write {path}: {exc.strerror}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
