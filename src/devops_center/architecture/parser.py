"""The import graph of a Python source tree, read with :mod:`ast` (the code is never run).

Which files are modules
  ``PATH`` is a package (it has ``__init__.py``): its parent is the import root and only
  the package is read (``site-packages/sqlalchemy`` → ``sqlalchemy.*``). ``PATH`` has a
  ``src/`` directory: ``src/`` is the import root (the src layout). Otherwise ``PATH``
  itself is. Directories without ``__init__.py`` are namespace packages; hidden
  directories, virtualenvs, ``build``/``dist``, ``__pycache__`` and names that cannot be
  imported (``my-scripts``) are left out. A module's ``path`` is relative to ``PATH``
  (to its parent for a package), so a scan of a repository names files as the
  repository does (``src/pkg/mod.py``).

What counts as an import
  Every ``import``/``from … import`` statement anywhere in a file: at module level,
  inside functions (the edge is ``lazy``), under ``if TYPE_CHECKING:`` (the edge is
  ``type_checking``), in classes, ``try``, ``with``, loops. Relative imports are
  resolved against the importing module's package. ``from pkg import name`` points to
  the submodule ``pkg.name`` when there is one, else to ``pkg`` (its ``__init__``);
  ``import a.b.c`` points to ``a.b.c`` (or its nearest existing ancestor). Imports of
  other top-level names are external: counted per scan, never nodes. An edge seen
  several times in a file is one edge; it is ``type_checking``/``lazy`` only if every
  occurrence is.

A file that does not parse (syntax error, bad encoding, too large) is reported and
skipped: it is no node and its imports are unknown; imports of it are dropped too.
"""

from __future__ import annotations

import ast
import io
import os
import re
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_FILES = 20_000
MAX_NAME = 300  # the database's limits for a module's dotted name and path
MAX_PATH = 500
SKIP_DIRS = frozenset(
    {"__pycache__", "node_modules", "build", "dist", "site-packages", "venv", "env", "htmlcov"}
)
# Module file and directory names: identifiers, plus names that start with a digit
# (Alembic's ``0001_initial.py``), which are real files loaded by path.
_NAME = re.compile(r"^[A-Za-z0-9_]+$")


class ScanError(Exception):
    """The tree cannot be scanned at all (not a directory, no Python files, too big)."""


@dataclass(frozen=True)
class Problem:
    """A file that was skipped, and why."""

    path: str
    line: int | None
    message: str


@dataclass(frozen=True)
class RawImport:
    module: (
        str  # as written: "a.b" (``import a.b``, ``from a.b import x``), "" (``from . import x``)
    )
    names: tuple[str, ...]  # the from-list; () for ``import``
    level: int  # leading dots
    line: int
    lazy: bool
    type_checking: bool


@dataclass
class Module:
    name: str
    path: str
    is_package: bool
    loc: int = 0
    imports: list[RawImport] = field(default_factory=list)

    @property
    def package(self) -> str:
        """The package this module sits in directly ("" at the top level)."""
        if self.is_package:
            return self.name
        return self.name.rpartition(".")[0]


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    type_checking: bool
    lazy: bool
    line: int


@dataclass
class Tree:
    """Modules (parsed), edges between them, skipped files and external imports."""

    modules: dict[str, Module]
    edges: list[Edge]
    problems: list[Problem]
    externals: dict[str, int]  # top-level external name → modules importing it


@dataclass(frozen=True)
class _File:
    name: str
    path: str
    file: Path
    is_package: bool


# ---------------------------------------------------------------------- discovery


def _roots(path: Path) -> tuple[Path, Path, Path]:
    """(import root, directory to walk, directory paths are relative to)."""
    if not path.is_dir():
        raise ScanError(f"not a directory: {path}")
    if (path / "__init__.py").is_file():
        return path.parent, path, path.parent
    src = path / "src"
    if src.is_dir() and not (src / "__init__.py").exists():
        return src, src, path
    return path, path, path


def discover(path: Path) -> list[_File]:
    """Every module file under ``path``, named as Python would import it."""
    import_root, top, base = _roots(path)
    found: list[_File] = []
    for dirpath, dirnames, filenames in os.walk(top):
        here = Path(dirpath)
        dirnames[:] = sorted(
            d for d in dirnames if not d.startswith(".") and d not in SKIP_DIRS and _NAME.match(d)
        )
        rel_dir = here.relative_to(import_root).parts
        for filename in sorted(filenames):
            if not filename.endswith(".py"):
                continue
            stem = filename[:-3]
            if not _NAME.match(stem):
                continue
            file = here / filename
            if stem == "__init__":
                parts, is_package = rel_dir, True
            else:
                parts, is_package = (*rel_dir, stem), False
            if not parts:
                continue  # an __init__.py directly in the import root names nothing
            found.append(
                _File(
                    name=".".join(parts),
                    path=file.relative_to(base).as_posix(),
                    file=file,
                    is_package=is_package,
                )
            )
            if len(found) > MAX_FILES:
                raise ScanError(f"more than {MAX_FILES} Python files under {path}")
    if not found:
        raise ScanError(f"no Python modules under {path}")
    return found


# ---------------------------------------------------------------------- one file


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _docstring_lines(body: list[ast.stmt]) -> range | None:
    first = body[0] if body else None
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        return range(first.lineno, (first.end_lineno or first.lineno) + 1)
    return None


def _walk(tree: ast.Module) -> tuple[list[RawImport], set[int]]:
    """The imports of a module (statements only: expressions cannot hold one) and the
    lines of its docstrings."""
    imports: list[RawImport] = []
    doc_lines: set[int] = set()
    stack: list[tuple[list[ast.stmt], bool, bool]] = [(tree.body, False, False)]
    docs = _docstring_lines(tree.body)
    if docs:
        doc_lines.update(docs)
    while stack:
        body, lazy, tc = stack.pop()
        for node in body:
            if isinstance(node, ast.Import):
                imports.extend(RawImport(a.name, (), 0, node.lineno, lazy, tc) for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                names = tuple(a.name for a in node.names)
                imports.append(
                    RawImport(node.module or "", names, node.level, node.lineno, lazy, tc)
                )
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                docs = _docstring_lines(node.body)
                if docs:
                    doc_lines.update(docs)
                in_function = lazy or not isinstance(node, ast.ClassDef)
                stack.append((node.body, in_function, tc))
            elif isinstance(node, ast.If):
                stack.append((node.body, lazy, tc or _is_type_checking(node.test)))
                stack.append((node.orelse, lazy, tc))
            elif isinstance(node, ast.Try | ast.TryStar):
                stack.append((node.body, lazy, tc))
                stack.extend((h.body, lazy, tc) for h in node.handlers)
                stack.append((node.orelse, lazy, tc))
                stack.append((node.finalbody, lazy, tc))
            elif isinstance(node, ast.For | ast.AsyncFor | ast.While):
                stack.append((node.body, lazy, tc))
                stack.append((node.orelse, lazy, tc))
            elif isinstance(node, ast.With | ast.AsyncWith):
                stack.append((node.body, lazy, tc))
            elif isinstance(node, ast.Match):
                stack.extend((case.body, lazy, tc) for case in node.cases)
    return imports, doc_lines


def _loc(text: str, doc_lines: set[int]) -> int:
    """Lines of code: not blank, not only a comment, not part of a docstring."""
    count = 0
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#") and number not in doc_lines:
            count += 1
    return count


def parse_file(found: _File) -> Module | Problem:
    if len(found.name) > MAX_NAME or len(found.path) > MAX_PATH:
        return Problem(found.path[:MAX_PATH], None, "module name or path too long")
    try:
        size = found.file.stat().st_size
        if size > MAX_FILE_BYTES:
            return Problem(found.path, None, f"file too large ({size} bytes)")
        raw = found.file.read_bytes()
        encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
        text = raw.decode(encoding)
        tree = ast.parse(raw, filename=found.path)
    except SyntaxError as exc:
        return Problem(found.path, exc.lineno, f"{type(exc).__name__}: {exc.msg}")
    except (UnicodeDecodeError, LookupError, ValueError, OSError) as exc:
        return Problem(found.path, None, f"{type(exc).__name__}: {exc}")
    imports, doc_lines = _walk(tree)
    return Module(
        name=found.name,
        path=found.path,
        is_package=found.is_package,
        loc=_loc(text, doc_lines),
        imports=imports,
    )


# -------------------------------------------------------------------- resolution


class _Resolver:
    def __init__(self, modules: dict[str, Module], skipped: set[str]) -> None:
        self.modules = modules
        self.known = set(modules) | skipped  # files that exist, parsed or not
        self.top_levels = {name.partition(".")[0] for name in self.known}

    def base(self, module: Module, level: int) -> str | None:
        """The package a relative import with ``level`` dots starts from."""
        parts = module.name.split(".")
        if not module.is_package:
            parts = parts[:-1]
        up = level - 1
        if up > len(parts) or (up == len(parts)):
            return None  # beyond the top: Python refuses it too
        return ".".join(parts[: len(parts) - up])

    def nearest(self, dotted: str) -> str | None:
        """``dotted`` if it is a module, else its nearest ancestor that is one."""
        parts = dotted.split(".")
        while parts:
            name = ".".join(parts)
            if name in self.known:
                return name
            parts.pop()
        return None

    def targets(self, module: Module, imp: RawImport) -> Iterator[tuple[str | None, str | None]]:
        """(internal target, external top-level name) for each thing ``imp`` imports."""
        if imp.level:
            base = self.base(module, imp.level)
            if base is None:
                return
            where = f"{base}.{imp.module}" if imp.module else base
        else:
            where = imp.module
        if not imp.level and where.partition(".")[0] not in self.top_levels:
            yield None, where.partition(".")[0]
            return
        if not imp.names:
            yield self.nearest(where), None
            return
        for name in imp.names:
            sub = f"{where}.{name}"
            yield (sub if name != "*" and sub in self.known else self.nearest(where)), None


def resolve(modules: dict[str, Module], skipped: set[str]) -> tuple[list[Edge], dict[str, int]]:
    resolver = _Resolver(modules, skipped)
    edges: list[Edge] = []
    externals: dict[str, int] = {}
    for module in modules.values():
        seen: dict[str, list[RawImport]] = {}
        outside: set[str] = set()
        for imp in module.imports:
            for target, external in resolver.targets(module, imp):
                if external:
                    outside.add(external)
                elif target and target != module.name and target in modules:
                    seen.setdefault(target, []).append(imp)
        outside.discard("__future__")
        for name in outside:
            externals[name] = externals.get(name, 0) + 1
        for target, found in sorted(seen.items()):
            edges.append(
                Edge(
                    source=module.name,
                    target=target,
                    type_checking=all(i.type_checking for i in found),
                    lazy=all(i.lazy for i in found),
                    line=min(i.line for i in found),
                )
            )
    return edges, dict(sorted(externals.items()))


def parse_tree(path: Path) -> Tree:
    """Discover, parse and resolve. Raises :class:`ScanError` when nothing can be read."""
    modules: dict[str, Module] = {}
    problems: list[Problem] = []
    skipped: set[str] = set()
    for found in discover(path):
        parsed = parse_file(found)
        if isinstance(parsed, Problem):
            problems.append(parsed)
            skipped.add(found.name)
        else:
            modules[parsed.name] = parsed
    if not modules:
        raise ScanError(f"no Python module under {path} could be parsed")
    edges, externals = resolve(modules, skipped)
    return Tree(modules=modules, edges=edges, problems=problems, externals=externals)
