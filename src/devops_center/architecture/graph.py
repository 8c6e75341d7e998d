"""Figures of an import graph: fan-in/out, PageRank centrality, import cycles, package roll-up.

PageRank and strongly connected components are written out here (about forty lines,
tested in tests/architecture/test_graph.py): networkx would do both, but its PageRank
needs scipy and numpy, which is a lot to install for graphs of a few hundred nodes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from devops_center.architecture.parser import Edge, Tree

DAMPING = 0.85


def pagerank(
    nodes: Sequence[str],
    edges: Iterable[tuple[str, str]],
    *,
    damping: float = DAMPING,
    tol: float = 1e-10,
    max_iter: int = 500,
) -> dict[str, float]:
    """PageRank by power iteration (sums to 1). An edge ``a → b`` ("a imports b") passes
    rank to ``b``; a node that imports nothing spreads its rank evenly (as networkx)."""
    n = len(nodes)
    if n == 0:
        return {}
    index = {name: i for i, name in enumerate(nodes)}
    out: list[set[int]] = [set() for _ in nodes]
    for source, target in edges:
        if source != target:
            out[index[source]].add(index[target])
    links = [sorted(targets) for targets in out]
    dangling = [i for i, targets in enumerate(links) if not targets]
    rank = [1.0 / n] * n
    for _ in range(max_iter):
        base = (1.0 - damping) / n + damping * sum(rank[i] for i in dangling) / n
        new = [base] * n
        for i, targets in enumerate(links):
            if targets:
                share = damping * rank[i] / len(targets)
                for t in targets:
                    new[t] += share
        delta = sum(abs(a - b) for a, b in zip(new, rank, strict=True))
        rank = new
        if delta < n * tol:
            break
    return {name: rank[i] for name, i in index.items()}


def normalise(values: dict[str, float]) -> dict[str, float]:
    """Min-max to [0, 1]: the most central node is 1, the least 0 (all 0 when all equal)."""
    if not values:
        return {}
    low, high = min(values.values()), max(values.values())
    span = high - low
    if span <= 1e-15:
        return dict.fromkeys(values, 0.0)
    return {k: round((v - low) / span, 6) for k, v in values.items()}


def strongly_connected(nodes: Sequence[str], edges: Iterable[tuple[str, str]]) -> list[list[str]]:
    """Strongly connected components (Tarjan's algorithm, iterative), each sorted."""
    graph: dict[str, list[str]] = {name: [] for name in nodes}
    for source, target in edges:
        graph[source].append(target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            successors = graph[node]
            recurse = False
            while child < len(successors):
                succ = successors[child]
                child += 1
                if succ not in index:
                    work.append((node, child))
                    work.append((succ, 0))
                    recurse = True
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            if recurse:
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return components


def cycles(nodes: Sequence[str], edges: Iterable[tuple[str, str]]) -> list[list[str]]:
    """The import cycles: components of more than one node, largest first."""
    found = [c for c in strongly_connected(nodes, edges) if len(c) > 1]
    return sorted(found, key=lambda c: (-len(c), c))


@dataclass(frozen=True)
class Figures:
    name: str
    loc: int
    fan_in: int
    fan_out: int
    centrality: float
    in_cycle: bool
    modules: int = 1  # for a package: its modules (directly in it)


def _figures(
    names: Sequence[str],
    edges: list[tuple[str, str]],
    runtime: list[tuple[str, str]],
    loc: dict[str, int],
    modules: dict[str, int] | None = None,
) -> tuple[dict[str, Figures], list[list[str]]]:
    unique = sorted(set(edges))
    fan_in = dict.fromkeys(names, 0)
    fan_out = dict.fromkeys(names, 0)
    for source, target in unique:
        fan_out[source] += 1
        fan_in[target] += 1
    centrality = normalise(pagerank(names, unique))
    loops = cycles(names, sorted(set(runtime)))
    looped = {name for c in loops for name in c}
    return {
        name: Figures(
            name=name,
            loc=loc[name],
            fan_in=fan_in[name],
            fan_out=fan_out[name],
            centrality=centrality[name],
            in_cycle=name in looped,
            modules=(modules or {}).get(name, 1),
        )
        for name in names
    }, loops


@dataclass(frozen=True)
class Analysis:
    modules: dict[str, Figures]
    packages: dict[str, Figures]
    cycles: list[list[str]]  # module cycles (runtime imports), largest first


def analyse(tree: Tree) -> Analysis:
    """Module and package figures. Cycles count runtime imports only: an import under
    ``if TYPE_CHECKING:`` never runs, so it cannot make a cycle at import time."""
    names = sorted(tree.modules)
    pairs = [(e.source, e.target) for e in tree.edges]
    runtime = [(e.source, e.target) for e in tree.edges if not e.type_checking]
    module_figures, module_cycles = _figures(
        names, pairs, runtime, {n: m.loc for n, m in tree.modules.items()}
    )
    package_of = {n: m.package for n, m in tree.modules.items()}
    package_names = sorted({p for p in package_of.values() if p})
    package_loc = dict.fromkeys(package_names, 0)
    package_size = dict.fromkeys(package_names, 0)
    for module in tree.modules.values():
        if module.package:
            package_loc[module.package] += module.loc
            package_size[module.package] += 1

    def lift(edges: list[Edge], *, runtime_only: bool) -> list[tuple[str, str]]:
        out = []
        for e in edges:
            if runtime_only and e.type_checking:
                continue
            a, b = package_of[e.source], package_of[e.target]
            if not a or not b or a == b:
                continue
            # A package and one nested in it (web and web.pages, the top package and any
            # other) import each other as layers do, module by module without a cycle:
            # of themselves, packages side by side make a package cycle, nested ones not.
            if runtime_only and (b.startswith(a + ".") or a.startswith(b + ".")):
                continue
            out.append((a, b))
        return out

    package_figures, _ = _figures(
        package_names,
        lift(tree.edges, runtime_only=False),
        lift(tree.edges, runtime_only=True),
        package_loc,
        package_size,
    )
    # ... and the packages a module cycle runs through (one inside a package stays its own)
    for cycle in module_cycles:
        crossed = {package_of[m] for m in cycle if package_of[m]}
        for name in crossed if len(crossed) > 1 else ():
            package_figures[name] = replace(package_figures[name], in_cycle=True)
    return Analysis(modules=module_figures, packages=package_figures, cycles=module_cycles)


def parent_package(name: str, packages: set[str]) -> str | None:
    """The nearest enclosing package of package ``name`` among ``packages`` (nesting)."""
    parts = name.split(".")[:-1]
    while parts:
        candidate = ".".join(parts)
        if candidate in packages:
            return candidate
        parts.pop()
    return None
