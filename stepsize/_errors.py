"""Errors in what the user gave (an argument, a file, an output folder) as their own type.

:class:`UsageError` is a ``ValueError``, so code that catches ``ValueError`` still catches it; the
``stepsize`` command prints it as one line and exits with status 2, while any other exception is a
bug and keeps its traceback.  The helpers below raise it with the argument or file named.
"""

import json
import math
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "UsageError",
    "check_output_dir",
    "check_output_file",
    "check_seed",
    "positive",
    "read_json",
    "user_input",
]


class UsageError(ValueError):
    """Bad input from the user: an argument, an input file or an output location."""


@contextmanager
def user_input(what=None):
    """Turn a ValueError or TypeError raised inside the block into a :class:`UsageError`
    (its message prefixed with ``what``, e.g. the flag, when given).

    For blocks that only look up or check what the user gave (a problem name, a schedule name,
    a file), never around a computation: there a ValueError is a bug and must stay one.
    """
    try:
        yield
    except UsageError:
        raise
    except (ValueError, TypeError) as exc:
        raise UsageError(f"{what}: {exc}" if what else str(exc)) from exc


def positive(value, flag, *, integer=False):
    """``value`` if it is None or a positive finite number (an integer with ``integer=True``);
    otherwise :class:`UsageError` naming ``flag``."""
    if value is None:
        return None
    kind = "a positive integer" if integer else "a positive finite number"
    try:
        ok = math.isfinite(value) and value > 0 and (not integer or int(value) == value)
    except TypeError:
        ok = False
    if isinstance(value, bool) or not ok:
        raise UsageError(f"{flag} must be {kind}, got {value!r}")
    return value


def check_seed(value, flag="--seed"):
    """``value`` if it is None or an integer seed in ``[0, 2**32)`` (what NumPy's legacy
    seeding, used by stable-baselines3, accepts); otherwise :class:`UsageError`."""
    if value is not None and not (0 <= value < 2**32):
        raise UsageError(f"{flag} must be an integer in [0, 2**32), got {value!r}")
    return value


def check_output_dir(path, flag="--out"):
    """Create the folder ``path`` (with its parents) and check that a file can be written there.

    Called before a computation starts, so that a bad ``--out`` does not throw its result away;
    raises :class:`UsageError` naming ``flag`` and the folder.  Returns ``Path(path)``.
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path, prefix=".write-test-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise UsageError(f"{flag}: cannot write to the folder {str(path)!r}: {_why(exc)}") from exc
    return path


def check_output_file(path, flag="--out"):
    """:func:`check_output_dir` for the folder of the file ``path``; returns ``Path(path)``."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{flag}: {str(path)!r} is a folder, expected a file name")
    check_output_dir(path.parent, flag)
    return path


def read_json(path, what="file"):
    """The JSON document in ``path``; :class:`UsageError` naming the file when it is missing,
    unreadable, not UTF-8 or not JSON (``what`` says what kind of file was expected)."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"{what} {str(path)!r} cannot be read: {_why(exc)}") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"{what} {str(path)!r} is not a text (UTF-8) file: {exc.reason}") from exc
    except json.JSONDecodeError as exc:
        raise UsageError(f"{what} {str(path)!r} is not valid JSON: {exc}") from exc


def _why(exc):
    return exc.strerror or type(exc).__name__ if isinstance(exc, OSError) else str(exc)
