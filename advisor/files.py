"""Bounded reading of any file a user or the store hands us (issue 25): regular files only, a byte cap checked on
the open descriptor, never an echo of the content. Layer 0 — the profile, task and artifact readers all use it."""

from __future__ import annotations

import os
import stat
from pathlib import Path


class FileRefused(ValueError):
    """A user or data file that is not read: not a regular file, or over its byte cap (never echoes content).
    `kind`: "not_regular", "too_big" or "unreadable"; `size`: the bytes seen for "too_big"."""

    def __init__(self, message: str, kind: str = "unreadable", size: int = 0):
        super().__init__(message)
        self.kind, self.size = kind, size


def read_bounded(path: str | Path, max_bytes: int, what: str = "file") -> bytes:
    """The bytes of a regular file of at most `max_bytes`, else `FileRefused` naming the path and the rule.

    Opened non-blocking so that a FIFO cannot hang the open (fstat then refuses it); the size is checked on the
    open descriptor (no race with a swap between stat and open) and the read stops at max_bytes + 1 either way, so
    a file that grows while read or a character device is never read past the cap."""
    p = Path(path)
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except IsADirectoryError:
        raise FileRefused(f"{what} {p} is a directory, not a regular file", "not_regular") from None
    except OSError as err:
        raise FileRefused(f"{what} {p} cannot be opened ({err.strerror or type(err).__name__})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise FileRefused(f"{what} {p} is not a regular file (a FIFO, device, socket or directory)", "not_regular")
        if st.st_size > max_bytes:
            raise FileRefused(f"{what} {p} is {st.st_size:,} bytes; at most {max_bytes:,} are read", "too_big",
                              st.st_size)
        chunks, total = [], 0
        while total <= max_bytes:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > max_bytes:
            raise FileRefused(f"{what} {p} is over {max_bytes:,} bytes; at most {max_bytes:,} are read", "too_big",
                              total)
        return b"".join(chunks)
    except OSError as err:
        raise FileRefused(f"{what} {p} cannot be read ({err.strerror or type(err).__name__})") from None
    finally:
        os.close(fd)
