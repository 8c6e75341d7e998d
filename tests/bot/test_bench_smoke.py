"""A few-second run of bench/bot.py (the full run, 100 users, is `make bench`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bot.py"


def _bench(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--users", "3", "--db", "sqlite", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_bench_files_every_bug_paced_and_back_to_back() -> None:
    out = _bench("--think", "0.05")
    assert "pausing 0.05 s on average" in out and "bugs filed 3/3" in out
    assert "Step 6 of 6" in out and "Thank you" in out
    out = _bench("--think", "0")
    assert "back to back (saturation)" in out and "bugs filed 3/3" in out
    # where a reply's time goes: waiting at the server for the bot's next getUpdates
    assert "of which (waiting for getUpdates)" in out


def test_bench_floor_answers_every_prompt() -> None:
    out = _bench("--floor", "--think", "0")
    assert "floor: aiogram alone" in out and "Thank you" in out
