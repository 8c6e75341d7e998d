"""Architecture scan benchmark: parse a real package and store it, as ``dcc arch scan`` does.

Scans sqlalchemy (installed with the project, ~260 modules) and this project's own
code, stores each scan into a temporary SQLite database, and scans sqlalchemy a second
time to time the replacement. ``--smoke`` scans the standard library's ``email`` only.

Target (a loaded 2-core machine): a scan of a ~250-module package, parse + store,
< 15 s.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devops_center.architecture import service as architecture  # noqa: E402
from devops_center.db import make_engine, make_sessionmaker  # noqa: E402
from devops_center.migrations import runner  # noqa: E402

TARGET_SECONDS = 15.0


async def bench(packages: list[tuple[str, Path]]) -> list[str]:
    missed: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}"
        runner.upgrade(url)
        engine = make_engine(url, pool_size=1)
        sessionmaker = make_sessionmaker(engine)
        try:
            for label, path in packages:
                for attempt in ("first", "replace"):
                    started = time.perf_counter()
                    result = architecture.scan_directory(path)
                    parsed = time.perf_counter()
                    async with sessionmaker() as session, session.begin():
                        await architecture.store_scan(
                            session, name=label, result=result, source="path", location=str(path)
                        )
                    total = time.perf_counter() - started
                    print(
                        f"{label} ({attempt}): {len(result.tree.modules)} modules, "
                        f"{len(result.tree.edges)} edges, {len(result.analysis.cycles)} cycles; "
                        f"parse {parsed - started:.2f} s + store {total - (parsed - started):.2f} s"
                        f" = {total:.2f} s"
                    )
                    if len(result.tree.modules) >= 200 and total >= TARGET_SECONDS:
                        missed.append(f"{label}: {total:.2f} s >= {TARGET_SECONDS} s")
        finally:
            await engine.dispose()
    return missed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="the email package only")
    args = parser.parse_args()
    packages = [("email", Path(email.__file__).parent)]
    if not args.smoke:
        import sqlalchemy

        packages = [
            ("sqlalchemy", Path(sqlalchemy.__file__).parent),
            ("devops_center", ROOT),
        ]
    missed = asyncio.run(bench(packages))
    for line in missed:
        print(f"MISSED: {line}")
    print("architecture bench: " + ("FAILED" if missed else "all targets met"))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
