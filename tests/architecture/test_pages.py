"""/admin/architecture and its module page, as an owner sees them (English and Russian)."""

from __future__ import annotations

import re

import httpx

from devops_center.architecture.models import ArchScan
from tests.conftest import post_form


async def test_the_page_of_a_scan(as_role, shop_scan: ArchScan) -> None:
    owner = await as_role("owner")
    r = await owner.get("/admin/architecture")
    assert r.status_code == 200
    page = r.text
    assert 'data-api="/api/v1/architecture?name=shop"' in page
    assert '<script src="/static/vendor/cytoscape-3.34.4.min.js" defer></script>' in page
    assert re.search(r"<strong>10</strong>", page)  # modules
    assert "/admin/architecture/module?scan=shop&amp;name=shop.core.models" in page
    assert "shop.plugins.extra" in page  # the cycles are listed
    assert "src/shop/broken.py:1" in page  # skipped files too
    assert "requests" in page  # external imports
    assert "Scanning the GitHub repository is off" in page
    assert "Scan now" not in page
    # the CSP allows no inline script or style
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)
    assert "<style" not in page and " style=" not in page


async def test_no_scan_yet(as_role) -> None:
    owner = await as_role("superadmin")
    r = await owner.get("/admin/architecture")
    assert r.status_code == 200
    assert "No scan yet." in r.text and "dcc arch scan PATH" in r.text
    assert 'id="arch-graph"' not in r.text
    assert (await owner.get("/admin/architecture?name=nope")).status_code == 404


async def test_the_module_page(as_role, shop_scan: ArchScan) -> None:
    owner = await as_role("owner")
    r = await owner.get("/admin/architecture/module", params={"scan": "shop", "name": "shop.util"})
    assert r.status_code == 200
    page = r.text
    assert "src/shop/util.py" in page
    imported_by = page.split("Imported by</h2>")[1].split("</section>")[0]
    assert re.findall(r"name=([\w.]+)\"", imported_by) == [
        "shop",
        "shop.api",
        "shop.core.models",
        "shop.core.prices",
    ]
    imports = page.split("Imports</h2>")[1].split("</section>")[0]
    assert "type checking only" in imports and "name=shop.core.models" in imports
    cycle = await owner.get("/admin/architecture/module?scan=shop&name=shop.core.prices")
    assert "in an import cycle" in cycle.text and "inside a function" not in cycle.text
    missing = await owner.get("/admin/architecture/module?scan=shop&name=shop.nope")
    assert missing.status_code == 404 and "No such module in this scan" in missing.text
    bare = await owner.get("/admin/architecture/module")
    assert bare.status_code == 303 and bare.headers["location"] == "/admin/architecture"


async def test_in_russian(as_role, shop_scan: ArchScan) -> None:
    owner = await as_role("owner")
    await post_form(
        owner,
        "/language",
        {"language": "ru", "next": "/admin/architecture"},
        form_page="/admin/architecture",
    )
    page = (await owner.get("/admin/architecture")).text
    assert "Архитектура" in page and "Циклы импорта" in page
    module = (await owner.get("/admin/architecture/module?scan=shop&name=shop.util")).text
    assert "Кто импортирует" in module


async def test_scan_now_needs_github(as_role, shop_scan: ArchScan) -> None:
    owner = await as_role("owner")
    r = await post_form(owner, "/admin/architecture/scan", {}, form_page="/admin/architecture")
    assert r.status_code == 303 and r.headers["location"] == "/admin/architecture?done=off"


async def test_employees_are_refused(as_role, client: httpx.AsyncClient, shop_scan) -> None:
    employee = await as_role("employee")
    assert (await employee.get("/admin/architecture")).status_code == 403
    assert (await employee.get("/admin/architecture/module?name=shop")).status_code == 403
    assert (await client.get("/admin/architecture")).status_code == 303
