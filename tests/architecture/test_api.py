"""/api/v1/architecture and /api/v1/architecture/scans: shape, scope, errors."""

from __future__ import annotations

import httpx

from devops_center.architecture.models import ArchScan
from devops_center.users import tokens as api_tokens
from tests.architecture import tree as fixture


async def _token(sessionmaker, *scopes: str) -> dict[str, str]:
    async with sessionmaker() as s, s.begin():
        _row, plaintext = await api_tokens.create_token(s, name="reader", scopes=list(scopes))
    return {"authorization": f"Bearer {plaintext}"}


async def test_the_graph_with_a_scoped_token(
    client: httpx.AsyncClient, sessionmaker, shop_scan: ArchScan
) -> None:
    headers = await _token(sessionmaker, "architecture:read")
    r = await client.get("/api/v1/architecture", params={"name": "shop"}, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"scan", "modules", "edges", "packages"}
    modules = {m["name"]: m for m in body["modules"]}
    assert set(modules) == set(fixture.MODULES)
    assert set(modules["shop.util"]) == {
        "name",
        "path",
        "package",
        "is_package",
        "loc",
        "fan_in",
        "fan_out",
        "centrality",
        "in_cycle",
        "recent_change",  # 0 without changelog entries
    }
    assert modules["shop.util"]["loc"] == fixture.UTIL_LOC
    assert modules["shop.util"]["path"] == "src/shop/util.py"
    assert modules["shop.api"]["in_cycle"] and not modules["shop.util"]["in_cycle"]
    assert max(m["centrality"] for m in body["modules"]) == 1.0
    assert {
        (e["source"], e["target"], e["type_checking"], e["lazy"]) for e in body["edges"]
    } == fixture.EDGES
    scan = body["scan"]
    assert scan["name"] == "shop" and scan["commit_sha"] == "a" * 40
    assert (scan["modules"], scan["edges"], scan["cycles"]) == (10, 17, 2)
    assert scan["cycle_members"] == fixture.CYCLES
    assert scan["problems"][0]["path"] == "src/shop/broken.py"
    assert {p["name"] for p in body["packages"]} == {"shop", "shop.core", "shop.plugins"}


async def test_without_a_name_the_latest_scan(
    client: httpx.AsyncClient, sessionmaker, shop_scan: ArchScan
) -> None:
    headers = await _token(sessionmaker, "architecture:read")
    r = await client.get("/api/v1/architecture", headers=headers)
    assert r.status_code == 200 and r.json()["scan"]["name"] == "shop"
    missing = await client.get("/api/v1/architecture?name=nope", headers=headers)
    assert missing.status_code == 404
    assert missing.json()["detail"] == "No such architecture scan"
    assert missing.headers["content-type"] == "application/problem+json"
    listing = await client.get("/api/v1/architecture/scans", headers=headers)
    assert [s["name"] for s in listing.json()] == ["shop"]


async def test_scope_and_roles(
    client: httpx.AsyncClient, sessionmaker, shop_scan: ArchScan, as_role
) -> None:
    assert (await client.get("/api/v1/architecture")).status_code == 401
    wrong = await _token(sessionmaker, "metrics:read")
    for path in ("/api/v1/architecture", "/api/v1/architecture/scans"):
        r = await client.get(path, headers=wrong)
        assert r.status_code == 403
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["detail"] == "This token lacks the scope architecture:read"
        assert r.json()["required_scope"] == "architecture:read"
    admin_token = await _token(sessionmaker, "admin")
    assert (await client.get("/api/v1/architecture", headers=admin_token)).status_code == 200
    owner = await as_role("owner")
    assert (await owner.get("/api/v1/architecture")).status_code == 200
    manager = await as_role("manager")
    assert (await manager.get("/api/v1/architecture")).status_code == 403


async def test_no_scan_yet_and_a_too_long_name(client: httpx.AsyncClient, sessionmaker) -> None:
    headers = await _token(sessionmaker, "architecture:read")
    assert (await client.get("/api/v1/architecture", headers=headers)).status_code == 404
    assert (await client.get("/api/v1/architecture/scans", headers=headers)).json() == []
    r = await client.get("/api/v1/architecture", params={"name": "x" * 201}, headers=headers)
    assert r.status_code == 422


async def test_the_models_are_in_openapi(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/api/openapi.json")).json()
    assert "/api/v1/architecture" in spec["paths"]
    assert "/api/v1/architecture/scans" in spec["paths"]
    schemas = spec["components"]["schemas"]
    assert {"ArchitectureOut", "ModuleOut", "EdgeOut", "ScanOut", "PackageOut"} <= set(schemas)
    assert set(schemas["EdgeOut"]["properties"]) == {"source", "target", "type_checking", "lazy"}
