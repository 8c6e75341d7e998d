"""Python stack traces quoted in a bug report or a GitHub issue, as pure functions: the
frames (``File "src/pkg/mod.py", line 12, in f``) and the paths of the scan a frame's
file may be (docs/architecture.md, "Task weights from links")."""

from __future__ import annotations

import re
from collections import Counter

# ``File "…", line N`` — the frame line of a Python traceback (also in logs and pytest's
# long format). The path is read between the quotes, whatever the platform wrote.
_FRAME = re.compile(r'File "([^"\r\n]{1,1000})", line (\d{1,9})')
_DRIVE = re.compile(r"^[A-Za-z]:")
MAX_FRAMES = 200  # distinct frames read from one text
MAX_PARTS = 30  # directories of one frame's path looked at


def _path(raw: str) -> str | None:
    """A frame's file as a relative POSIX path; None for ``<stdin>``, ``<frozen …>`` and
    anything that is not a ``.py`` file."""
    path = raw.strip().replace("\\", "/")
    if path.startswith("<") or not path.endswith(".py"):
        return None
    parts = [p for p in _DRIVE.sub("", path).split("/") if p not in ("", ".")]
    return "/".join(parts[-MAX_PARTS:]) or None


def frames(text: str | None) -> list[tuple[str, int]]:
    """The distinct frames (path, line) of the tracebacks in ``text``, in order: a trace
    quoted twice, or a recursion repeating one frame, counts each frame once."""
    seen: dict[tuple[str, int], None] = {}
    for found in _FRAME.finditer(text or ""):
        path = _path(found.group(1))
        if path is None:
            continue
        seen.setdefault((path, int(found.group(2))), None)
        if len(seen) >= MAX_FRAMES:
            break
    return list(seen)


def quoted(*texts: str | None) -> bool:
    """Whether any of ``texts`` quotes a frame of a Python traceback."""
    return any(frames(t) for t in texts)


def files(text: str | None) -> list[tuple[str, int]]:
    """(path, frames in it) of the tracebacks in ``text``: each frame is one "changed
    line" of the impact formula."""
    counts = Counter(path for path, _ in frames(text))
    return sorted(counts.items())


def candidates(path: str) -> list[str]:
    """The paths of a scan a frame's file may be, longest first: the path without its
    leading directories, down to the last two parts (``/srv/app/src/pkg/mod.py`` →
    ``srv/app/src/pkg/mod.py``, …, ``src/pkg/mod.py``, ``pkg/mod.py``). A bare file name
    never matches a module deeper in the tree."""
    parts = path.split("/")
    if len(parts) == 1:
        return [path]
    return ["/".join(parts[i:]) for i in range(len(parts) - 1)]
