"""The CLI owns standard output: solver banners and library chatter never reach it.

Some C libraries write to file descriptor 1 directly (HiGHS 1.16 prints its banner when a model is
built, before any option can silence it), which would corrupt ``klero … --json`` output or a CSV piped
onward. ``owned_stdout`` points descriptor 1 at the null device for the length of a command and gives
Python's ``sys.stdout`` a private duplicate of the real stream, so only what the CLI prints arrives.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def owned_stdout() -> Iterator[None]:
    """Route descriptor 1 to the null device; ``sys.stdout`` keeps writing to the real stream.

    Does nothing when ``sys.stdout`` is not the process's descriptor 1 (a test capturing output in
    memory, for example): there is then nothing a C library could corrupt.
    """
    stream = sys.stdout
    try:
        owns_fd1 = stream.fileno() == 1
    except (AttributeError, OSError, ValueError):
        owns_fd1 = False
    if not owns_fd1:
        yield
        return
    stream.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    private = os.fdopen(saved, "w", buffering=1, encoding=stream.encoding, errors=stream.errors, closefd=False)
    sys.stdout = private
    try:
        yield
    except BrokenPipeError:  # `klero --help | head`: the reader left; nothing more to say
        _discard(saved)
    finally:
        try:
            private.flush()
        except BrokenPipeError:
            _discard(saved)
            private.flush()
        private.close()
        sys.stdout = stream
        os.dup2(saved, 1)
        os.close(saved)


def _discard(fd: int) -> None:
    """Point ``fd`` at the null device, so buffered output to a closed pipe can be flushed harmlessly."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)
