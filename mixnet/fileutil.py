"""Small file-system helpers shared by the writers of the package."""
from __future__ import annotations

import os
import tempfile
from typing import Union

__all__ = ["atomic_write"]

PathType = Union[str, "os.PathLike[str]"]


def atomic_write(path: PathType, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: readers see either the old file or the new one.

    The bytes go to a temporary file in the target's directory (so the final
    ``os.replace`` stays on one file system and is atomic), are flushed and fsynced, and
    the temporary file is then renamed over ``path``. On any error the temporary file is
    removed and the target keeps its previous content (or stays absent). ``path`` may be
    a ``str`` or any ``os.PathLike``; ``data`` anything exposing the buffer protocol.
    """
    target = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(target))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(target) + ".",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        _keep_mode(target, tmp)
        os.replace(tmp, target)
    except BaseException:
        # BaseException too: a KeyboardInterrupt mid-write must not leave litter behind.
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _keep_mode(target: str, tmp: str) -> None:
    # mkstemp creates 0600 files; a saved file should get the permissions a plain
    # open() would have given it (or keep those of the file it replaces).
    try:
        mode = os.stat(target).st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o666 & ~_current_umask()
    os.chmod(tmp, mode)


def _current_umask() -> int:
    # Reading the umask via os.umask() briefly changes it for every thread, so prefer
    # the race-free /proc value on Linux.
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return umask
