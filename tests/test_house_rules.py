"""The rules of the house, checked on every build.

- A module of ``src/devops_center`` has at most 500 lines.
- A web route (or exception handler) and a bot handler have at most 30 lines of body:
  they read the input, call one service function and render one presenter; the rules
  live in the feature packages.

Either may be broken on purpose when a comment in the code says why, in the form
``# house-rules: <the reason>`` — anywhere in the module for its length, or between
the function's decorators and its first statement for a function. The length of a
function is its body without the docstring: the signature of a route declares its
inputs (form fields, query parameters) and is not logic.
"""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "devops_center"
MAX_MODULE_LINES = 500
MAX_HANDLER_LINES = 30
# A reason is a few words: "# house-rules: ok" explains nothing.
REASON = re.compile(r"#\s*house-rules:\s*\S+(\s+\S+){2,}")

ROUTE_DECORATORS = frozenset(
    {"get", "post", "put", "patch", "delete", "head", "options", "api_route", "websocket"}
    | {"exception_handler", "middleware"}
)
# aiogram's observers on a Router.
BOT_DECORATORS = frozenset(
    {"message", "edited_message", "callback_query", "inline_query", "chosen_inline_result"}
    | {"my_chat_member", "chat_member", "chat_join_request", "pre_checkout_query"}
    | {"shipping_query", "poll", "poll_answer", "channel_post", "errors", "error"}
)


# Modules another change is reworking right now: a comment in them would only collide
# with that work. An entry that keeps the rules again is reported, to be removed here.
KNOWN: dict[str, str] = {}


@dataclass(frozen=True)
class Violation:
    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


def _decorator_name(node: ast.expr) -> str | None:
    target = node.func if isinstance(node, ast.Call) else node
    return target.attr if isinstance(target, ast.Attribute) else None


def _body_lines(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    body = fn.body
    first = body[0]
    is_docstring = (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    )
    if is_docstring and len(body) > 1:
        body = body[1:]
    return (fn.end_lineno or fn.lineno) - body[0].lineno + 1


def _excused(lines: list[str], fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A reason between the decorators (or the line above them) and the first statement
    after the docstring."""
    start = min([d.lineno for d in fn.decorator_list] + [fn.lineno]) - 1
    first = fn.body[1] if len(fn.body) > 1 else fn.body[0]
    head = lines[max(start - 1, 0) : first.lineno - 1]
    return any(REASON.search(line) for line in head)


def check_source(text: str, where: str, *, adapter: str | None) -> list[Violation]:
    """The violations in one module's text; ``adapter`` is "web" or "bot" for the
    modules whose handlers are measured."""
    lines = text.splitlines()
    found = []
    if len(lines) > MAX_MODULE_LINES and not any(REASON.search(line) for line in lines):
        found.append(Violation(where, f"{len(lines)} lines (> {MAX_MODULE_LINES})"))
    if adapter is None:
        return found
    kinds = ROUTE_DECORATORS if adapter == "web" else BOT_DECORATORS
    for node in ast.walk(ast.parse(text)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if not any(_decorator_name(d) in kinds for d in node.decorator_list):
            continue
        length = _body_lines(node)
        if length > MAX_HANDLER_LINES and not _excused(lines, node):
            what = "route" if adapter == "web" else "bot handler"
            found.append(
                Violation(
                    f"{where}:{node.lineno}",
                    f"{what} {node.name} has {length} lines (> {MAX_HANDLER_LINES})",
                )
            )
    return found


def violations() -> list[Violation]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        adapter = relative.parts[0] if relative.parts[0] in ("web", "bot") else None
        found += check_source(
            path.read_text(encoding="utf-8"), f"src/devops_center/{relative}", adapter=adapter
        )
    return found


def test_modules_and_handlers_are_short_or_say_why() -> None:
    everything = violations()
    found = [v for v in everything if v.where not in KNOWN]
    stale = set(KNOWN) - {v.where for v in everything}
    if stale:  # a warning: the change that fixed it need not know about this list
        warnings.warn(
            f"these keep the rules now, remove them from KNOWN: {sorted(stale)}", stacklevel=1
        )
    assert not found, (
        "split these, or say why in a '# house-rules: <reason>' comment:\n  "
        + "\n  ".join(map(str, found))
    )


# The checker itself: a rule that never fires would pass silently.

LONG_BODY = "\n".join(f"    x{i} = {i}" for i in range(MAX_HANDLER_LINES + 1))


def test_a_long_route_is_caught_and_a_reason_excuses_it() -> None:
    route = f'@router.get("/x")\nasync def page() -> None:\n    """Doc."""\n{LONG_BODY}\n'
    found = check_source(route, "web/x.py", adapter="web")
    assert [str(v) for v in found] == [
        f"web/x.py:2: route page has {MAX_HANDLER_LINES + 1} lines (> {MAX_HANDLER_LINES})"
    ]
    excused = "# house-rules: one table of many columns, read in one place\n" + route
    assert check_source(excused, "web/x.py", adapter="web") == []
    terse = "# house-rules: long\n" + route
    assert len(check_source(terse, "web/x.py", adapter="web")) == 1


def test_a_long_bot_handler_is_caught_but_not_a_plain_function() -> None:
    handler = f"@router.callback_query(F.data)\nasync def on_press() -> None:\n{LONG_BODY}\n"
    assert len(check_source(handler, "bot/x.py", adapter="bot")) == 1
    plain = f"async def helper() -> None:\n{LONG_BODY}\n"
    assert check_source(plain, "bot/x.py", adapter="bot") == []


def test_a_long_module_is_caught_and_a_reason_excuses_it() -> None:
    module = "x = 1\n" * (MAX_MODULE_LINES + 1)
    assert len(check_source(module, "m.py", adapter=None)) == 1
    reason = "# house-rules: long because a migration is a frozen record\n"
    assert check_source(reason + module, "m.py", adapter=None) == []


def test_every_module_below_the_adapters_is_forbidden_the_frameworks() -> None:
    """A new top-level module or feature must be added to the import-linter contract that
    keeps web, bot and CLI frameworks out of it (else it is checked by nothing)."""
    import tomllib

    config = tomllib.loads((PACKAGE.parents[1] / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    forbidden = next(c for c in contracts if c["type"] == "forbidden")
    covered = set(forbidden["source_modules"])
    adapters = {"cli", "web", "bot", "worker", "migrations", "__init__", "__main__"}
    top = {
        p.stem
        for p in PACKAGE.iterdir()
        if (p.suffix == ".py" or (p / "__init__.py").exists()) and p.stem not in adapters
    }
    missing = [m for m in sorted(f"devops_center.{n}" for n in top) if m not in covered]
    assert not missing, f"not in the forbidden-imports contract: {missing}"
