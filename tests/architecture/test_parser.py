"""The parser: the fixture tree's exact graph, and real packages against independent lists."""

from __future__ import annotations

import email
from pathlib import Path

import grimp
import pytest
import sqlalchemy

from devops_center.architecture import parser
from devops_center.architecture.parser import ScanError, parse_tree
from tests.architecture import tree as fixture
from tests.architecture.oracle import module_edges


@pytest.fixture
def shop(tmp_path: Path) -> parser.Tree:
    return parse_tree(fixture.write_tree(tmp_path))


def test_every_import_form_gives_the_expected_edges(shop: parser.Tree) -> None:
    got = {(e.source, e.target, e.type_checking, e.lazy) for e in shop.edges}
    assert got == fixture.EDGES


def test_modules_paths_and_packages(shop: parser.Tree) -> None:
    got = {name: (m.path, m.package) for name, m in shop.modules.items()}
    assert got == fixture.MODULES
    assert shop.modules["shop"].is_package and not shop.modules["shop.api"].is_package


def test_a_syntax_error_is_reported_and_skipped(shop: parser.Tree) -> None:
    assert [(p.path, p.line) for p in shop.problems] == [("src/shop/broken.py", 1)]
    assert "SyntaxError" in shop.problems[0].message
    assert "shop.broken" not in shop.modules


def test_lines_of_code_leave_out_blanks_comments_and_docstrings(shop: parser.Tree) -> None:
    assert shop.modules["shop.util"].loc == fixture.UTIL_LOC
    assert shop.modules["manage"].loc == 1


def test_external_imports_are_counted_not_nodes(shop: parser.Tree) -> None:
    assert shop.externals == fixture.EXTERNALS
    assert not {"os", "requests"} & set(shop.modules)


def test_edge_lines_are_the_first_occurrence(shop: parser.Tree) -> None:
    lines = {(e.source, e.target): e.line for e in shop.edges}
    assert lines[("shop.core.prices", "shop.core.models")] == 3
    assert lines[("shop.core.models", "shop.api")] == 7


def test_a_package_directory_is_scanned_from_its_parent(tmp_path: Path) -> None:
    fixture.write_tree(tmp_path)
    tree = parse_tree(tmp_path / "src" / "shop")
    assert "manage" not in tree.modules
    assert tree.modules["shop.api"].path == "shop/api.py"
    assert {(e.source, e.target) for e in tree.edges} == {
        (s, t) for s, t, _tc, _lazy in fixture.EDGES if s != "manage"
    }


def test_nothing_to_scan_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ScanError, match="no Python modules"):
        parse_tree(tmp_path)
    with pytest.raises(ScanError, match="not a directory"):
        parse_tree(tmp_path / "missing")
    (tmp_path / "bad.py").write_text("def (\n")
    with pytest.raises(ScanError, match="could be parsed"):
        parse_tree(tmp_path)


def test_bad_encoding_and_null_bytes_are_problems_not_crashes(tmp_path: Path) -> None:
    (tmp_path / "ok.py").write_text("import latin\n")
    (tmp_path / "latin.py").write_bytes(b"x = '\xff'\n")  # not UTF-8, no coding line
    (tmp_path / "nul.py").write_bytes(b"x = 1\x00\n")
    tree = parse_tree(tmp_path)
    assert set(tree.modules) == {"ok"}
    assert {p.path for p in tree.problems} == {"latin.py", "nul.py"}


def test_the_email_package_matches_modulefinder() -> None:
    """The standard library's email package against modulefinder (bytecode, its own
    module search): the same modules and exactly the same edges."""
    package = Path(email.__file__).parent
    modules, edges = module_edges(package)
    tree = parse_tree(package)
    assert set(tree.modules) == modules
    assert {(e.source, e.target) for e in tree.edges} == edges
    assert len(edges) > 40


def test_sqlalchemy_matches_grimp() -> None:
    """An installed ~250-module package against grimp (import-linter's graph builder)."""
    package = Path(sqlalchemy.__file__).parent
    graph = grimp.build_graph("sqlalchemy", cache_dir=None)
    theirs = {
        (m, target) for m in graph.modules for target in graph.find_modules_directly_imported_by(m)
    }
    tree = parse_tree(package)
    assert set(tree.modules) == set(graph.modules)
    assert {(e.source, e.target) for e in tree.edges} == theirs
    assert len(tree.modules) > 200 and len(theirs) > 2000


def test_names_too_long_to_store_are_problems(tmp_path: Path) -> None:
    deep = tmp_path.joinpath(*(["d" * 60] * 6))
    deep.mkdir(parents=True)
    (deep / "m.py").write_text("x = 1\n")
    (tmp_path / "ok.py").write_text("x = 1\n")
    tree = parse_tree(tmp_path)
    assert set(tree.modules) == {"ok"}
    assert [p.message for p in tree.problems] == ["module name or path too long"]
