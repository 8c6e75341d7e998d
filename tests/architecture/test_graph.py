"""PageRank, cycles and the package roll-up, checked against definitions, not the code."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from devops_center.architecture.graph import (
    analyse,
    cycles,
    normalise,
    pagerank,
    strongly_connected,
)
from devops_center.architecture.parser import parse_tree
from tests.architecture import tree as fixture


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for nxt in graph[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _random_graph(rng: random.Random) -> tuple[list[str], list[tuple[str, str]]]:
    nodes = [f"n{i}" for i in range(rng.randint(1, 25))]
    edges = [(rng.choice(nodes), rng.choice(nodes)) for _ in range(rng.randint(0, 3 * len(nodes)))]
    return nodes, edges


def test_components_are_the_mutual_reachability_classes() -> None:
    rng = random.Random(7)
    for _ in range(200):
        nodes, edges = _random_graph(rng)
        graph: dict[str, set[str]] = {n: set() for n in nodes}
        for a, b in edges:
            graph[a].add(b)
        reach = {n: _reachable(graph, n) for n in nodes}
        expected = {frozenset(m for m in nodes if n in reach[m] and m in reach[n]) for n in nodes}
        got = strongly_connected(nodes, edges)
        assert {frozenset(c) for c in got} == expected
        assert sum(len(c) for c in got) == len(nodes)


def test_a_deep_chain_does_not_recurse() -> None:
    nodes = [f"m{i}" for i in range(20_000)]
    edges = [(nodes[i], nodes[i + 1]) for i in range(len(nodes) - 1)] + [(nodes[-1], nodes[0])]
    assert cycles(nodes, edges) == [sorted(nodes)]


def test_pagerank_is_the_fixed_point_of_its_definition() -> None:
    """PR(v) = (1-d)/N + d * (sum over u→v of PR(u)/out(u) + sum over sinks of PR(s)/N)."""
    rng = random.Random(11)
    d = 0.85
    for _ in range(50):
        nodes, edges = _random_graph(rng)
        out: dict[str, set[str]] = {n: set() for n in nodes}
        for a, b in edges:
            if a != b:
                out[a].add(b)
        rank = pagerank(nodes, edges)
        n = len(nodes)
        assert sum(rank.values()) == pytest.approx(1.0)
        sinks = sum(rank[u] for u in nodes if not out[u])
        for v in nodes:
            inflow = sum(rank[u] / len(out[u]) for u in nodes if v in out[u])
            assert rank[v] == pytest.approx((1 - d) / n + d * (inflow + sinks / n), abs=1e-9)


def test_pagerank_favours_what_many_depend_on() -> None:
    nodes = ["hub", "a", "b", "c", "leaf"]
    rank = normalise(pagerank(nodes, [("a", "hub"), ("b", "hub"), ("c", "hub"), ("leaf", "a")]))
    assert rank["hub"] == 1.0
    assert min(rank.values()) == 0.0
    assert rank["a"] > rank["b"] == rank["c"] == rank["leaf"] == 0.0


def test_normalise_when_everything_is_equal() -> None:
    assert normalise(pagerank(["a", "b", "c"], [("a", "b"), ("b", "c"), ("c", "a")])) == {
        "a": 0.0,
        "b": 0.0,
        "c": 0.0,
    }
    assert normalise({}) == {}


def test_analysis_of_the_fixture_tree(tmp_path: Path) -> None:
    analysis = analyse(parse_tree(fixture.write_tree(tmp_path)))
    assert analysis.cycles == fixture.CYCLES
    in_cycle = {name for name, f in analysis.modules.items() if f.in_cycle}
    assert in_cycle == {name for c in fixture.CYCLES for name in c}
    for name, figures in analysis.modules.items():
        assert figures.fan_out == sum(1 for s, _t, _tc, _l in fixture.EDGES if s == name)
        assert figures.fan_in == sum(1 for _s, t, _tc, _l in fixture.EDGES if t == name)
        assert 0.0 <= figures.centrality <= 1.0
    top = max(analysis.modules.values(), key=lambda f: f.centrality)
    assert top.centrality == 1.0
    packages = {
        name: (p.modules, p.fan_in, p.fan_out, p.in_cycle) for name, p in analysis.packages.items()
    }
    assert packages == {
        "shop": (4, 2, 1, True),  # shop.core and shop.plugins import it
        "shop.core": (3, 1, 1, True),  # shop ⇄ shop.core at run time
        "shop.plugins": (2, 0, 1, False),  # its own cycle is inside the package
    }

    assert analysis.packages["shop.core"].loc == sum(
        analysis.modules[m].loc for m in ("shop.core", "shop.core.models", "shop.core.prices")
    )


def test_a_package_and_the_packages_in_it_are_no_cycle_of_themselves(tmp_path: Path) -> None:
    """web imports web.pages and web.pages imports web.deps, module by module without
    a cycle: neither package is in one. Two packages side by side that import each other
    are."""
    root = tmp_path / "app"
    files = {
        "__init__.py": "",
        "main.py": "import app.web.server\n",
        "web/__init__.py": "",
        "web/server.py": "from app.web.pages import home\n",
        "web/deps.py": "",
        "web/pages/__init__.py": "",
        "web/pages/home.py": "from app.web import deps\nimport app.main_settings\n",
        "main_settings.py": "",
        "a/__init__.py": "",
        "a/x.py": "import app.b.y\n",
        "b/__init__.py": "",
        "b/y.py": "",
        "b/z.py": "import app.a.w\n",
        "a/w.py": "",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    analysis = analyse(parse_tree(root))
    assert analysis.cycles == []
    looped = sorted(n for n, p in analysis.packages.items() if p.in_cycle)
    assert looped == ["app.a", "app.b"]
