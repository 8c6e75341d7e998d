"""An independent edge list for a real package, from the standard library's modulefinder.

modulefinder reads compiled bytecode (not the ``ast``) and finds modules with its own
path search; this subclass records, per scanned module, what each import instruction
loads: ``from X import n`` → ``X.n`` when modulefinder found such a module, else ``X``;
``import a.b`` → ``a.b``. Only the package's own modules are kept.
"""

from __future__ import annotations

import modulefinder
from pathlib import Path
from typing import Any


class _EdgeFinder(modulefinder.ModuleFinder):
    def __init__(self, package: str, path: list[str]) -> None:
        super().__init__(path=path)
        self.package = package
        self.raw: list[tuple[str, str, tuple[str, ...]]] = []
        self._owner: Any = None

    def scan_code(self, co: Any, m: Any) -> None:
        previous, self._owner = self._owner, m
        try:
            super().scan_code(co, m)
        finally:
            self._owner = previous

    def _safe_import_hook(self, name: str, caller: Any, fromlist: Any, level: int = -1) -> None:
        owner = self._owner
        if owner is not None and owner.__name__.split(".")[0] == self.package:
            if level and level > 0:
                parent = self.determine_parent(owner, level=level)
                absolute = f"{parent.__name__}.{name}" if name else parent.__name__
            else:  # absolute, or "from . import x" rewritten by modulefinder to the parent
                absolute = name
            self.raw.append((owner.__name__, absolute, tuple(fromlist or ())))
        super()._safe_import_hook(name, caller, fromlist, level)


def module_edges(package_dir: Path) -> tuple[set[str], set[tuple[str, str]]]:
    """(modules, edges) of the package at ``package_dir``."""
    package = package_dir.name
    finder = _EdgeFinder(package, [str(package_dir.parent)])
    names = {package}
    for path in package_dir.rglob("*.py"):
        parts = path.relative_to(package_dir.parent).with_suffix("").parts
        names.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    for name in sorted(names):
        finder.import_hook(name)
    internal = {n for n in finder.modules if n == package or n.startswith(package + ".")}
    edges: set[tuple[str, str]] = set()
    for caller, absolute, fromlist in finder.raw:
        wanted = [absolute] if not fromlist else []
        for sub in fromlist:
            full = f"{absolute}.{sub}"
            wanted.append(full if sub != "*" and full in internal else absolute)
        for target in wanted:
            while target and target not in internal:
                target = target.rpartition(".")[0]
            if target and target != caller:
                edges.add((caller, target))
    return internal, edges
