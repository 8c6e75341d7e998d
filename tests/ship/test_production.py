"""Runs as a real deployment: the processes production runs, hurt the way production is.

A private PostgreSQL cluster (so the test may stop and start it) and a private Redis;
``dcc web --workers 3``, two ``dcc worker`` and the bot in webhook mode as subprocesses;
GitHub and Telegram as the stand-ins of tests/github and tests/bot. People file bugs
through the web (each request on a new connection, so they land on all three web
processes) and through the bot's /bug dialog, while

* at a fifth of the bugs a worker is SIGKILLed (a replacement is started, as a
  supervisor would), and
* at half of them PostgreSQL is stopped (``pg_ctl stop -m fast``) and started again.

Afterwards every bug is stored once, GitHub holds exactly one issue per bug and every
bug is linked to its own, no one's session was lost, nothing answered 5xx except the
documented 503 while the database was away, and every process still runs.

``DCC_PRODUCTION_SCALE`` scales the number of bugs: 1 files the full 200 (about two
minutes on the shared two-core development machine); the default, 0.15, files 30 (one to
two minutes) to stay within ``make test``'s budget. ``DCC_KEEP_PRODUCTION_LOGS=1`` keeps
the processes' logs and the cluster's directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from devops_center.bot.runner import chat_of
from devops_center.integrations.github.render import bug_id_from_body
from tests.bot.standin import StandIn as TelegramStandIn
from tests.bot.standin import TgUser
from tests.conftest import CI, PASSWORD, REDIS_URL, unavailable
from tests.github.standin import StandIn as GithubStandIn

SCALE = float(os.environ.get("DCC_PRODUCTION_SCALE", "0.15"))
PEOPLE = 5  # on each side: the web and the bot
TOTAL = max(20, 2 * PEOPLE * round(200 * SCALE / (2 * PEOPLE)))
PER_PERSON = TOTAL // (2 * PEOPLE)
REPO = "acme/app"
DCC = str(Path(sys.executable).with_name("dcc"))
CSRF_RE = re.compile(r'name="csrftoken" value="([^"]+)"')
CLIENT_TOKEN_RE = re.compile(r'name="client_token" value="([^"]*)"')
STEP_TIMEOUT = 180.0  # one answer of the bot, or one web request, at worst (an outage)
LINK_TIMEOUT = 120.0 + 1.5 * TOTAL  # every bug linked to its GitHub issue after the last

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.timeout(600 + 6 * TOTAL),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ------------------------------------------------------------------ PostgreSQL, Redis


def _pg_bin() -> Path | None:
    found = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "initdb").exists()]
    if not found:
        return None
    return max(found, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)


class Cluster:
    """A PostgreSQL cluster of its own in ``root``, on ``port``: this test stops it."""

    def __init__(self, bin_dir: Path, root: Path, port: int) -> None:
        self.bin, self.root, self.port = bin_dir, root, port
        self.data = root / "data"
        # initdb refuses to run as root: there it runs as the postgres OS user.
        self.prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *cmd: str) -> None:
        done = subprocess.run(
            [*self.prefix, *cmd], capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode:
            log = self.root / "pg.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{cmd[0]} failed: {done.stdout}{done.stderr}\n{tail}")

    def init(self) -> None:
        self.root.mkdir(parents=True)
        if self.prefix:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"
        )  # fmt: skip

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        options += " -c max_connections=200 -c fsync=off"
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-t", "120",
            "-o", options, "-l", str(self.root / "pg.log"), "start",
        )  # fmt: skip

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-m", "fast", "stop")


@pytest.fixture
def workdir() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="dcc-production-"))
    root.chmod(0o755)  # the postgres OS user must reach its data directory inside
    yield root
    if os.environ.get("DCC_KEEP_PRODUCTION_LOGS"):
        print(f"production: files kept in {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def cluster(workdir: Path) -> Iterator[Cluster]:
    bin_dir = _pg_bin()
    if bin_dir is None:
        unavailable("PostgreSQL server binaries", "none under /usr/lib/postgresql/*/bin")
    assert bin_dir is not None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            unavailable("the postgres OS user", "initdb cannot run as root without it")
        if shutil.which("runuser") is None:
            unavailable("runuser", "needed to run initdb as the postgres OS user")
    pg = Cluster(bin_dir, workdir / "pg", free_port())
    pg.init()
    pg.start()
    try:
        yield pg
    finally:
        with contextlib.suppress(Exception):
            pg.stop()


@pytest.fixture
def redis_url(workdir: Path) -> Iterator[str]:
    server = shutil.which("redis-server")
    if server is None:  # e.g. a CI runner with Redis as a service: nothing here stops it
        yield REDIS_URL
        return
    port = free_port()
    proc = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            break
        time.sleep(0.1)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# ------------------------------------------------------------------------ stand-ins


class WebhookTelegram(TelegramStandIn):
    """The Bot API stand-in delivering updates as Telegram does in webhook mode: a POST to
    the URL the bot gave in ``setWebhook``, with its secret token header, one at a time
    per chat, again and again until the answer is 200."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.webhook: dict[str, Any] = {}
        self.answers: Counter[int | str] = Counter()
        self._chat_locks: dict[int | None, asyncio.Lock] = {}
        self._http = httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_keepalive_connections=0))

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "setWebhook":
            self.webhook = dict(params)
        return super()._result(method, params)

    async def stop(self) -> None:
        await self._http.aclose()
        await super().stop()

    async def push(self, update: dict[str, Any]) -> int:
        update["update_id"] = update_id = next(self._ids)
        async with self._chat_locks.setdefault(chat_of(update), asyncio.Lock()):
            while True:
                url, secret = self.webhook.get("url"), self.webhook.get("secret_token")
                if url:
                    try:
                        answer = await self._http.post(
                            url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret}
                        )
                    except httpx.HTTPError as exc:
                        self.answers[type(exc).__name__] += 1
                    else:
                        self.answers[answer.status_code] += 1
                        if answer.status_code == 200:
                            return update_id
                await asyncio.sleep(0.5)


@pytest.fixture
def github() -> Iterator[GithubStandIn]:
    server = GithubStandIn(repo=REPO).start()
    server.delay = 0.25  # GitHub's API takes a few hundred milliseconds a call
    # The SIGKILLed worker's connection is reset mid-request: expected, not worth a trace.
    server.server.handle_error = lambda *_request_and_address: None
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def telegram() -> AsyncIterator[WebhookTelegram]:
    server = WebhookTelegram()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


# ------------------------------------------------------------------------ processes


@dataclass
class Deployment:
    env: dict[str, str]
    root: Path
    base: str
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, *args: str) -> None:
        self.procs[name] = subprocess.Popen(
            [DCC, *args],
            env=self.env,
            cwd=self.root,
            stdout=(self.root / f"{name}.log").open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [DCC, *args], env=self.env, cwd=self.root, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, f"dcc {' '.join(args)}: {done.stdout}{done.stderr}"
        return done.stdout

    def kill(self, name: str) -> None:
        proc = self.procs[name]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)

    def tail(self, name: str, lines: int = 40) -> str:
        path = self.root / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def tails(self) -> str:
        return "\n".join(f"----- {name} -----\n{self.tail(name)}" for name in self.procs)

    def web_children(self) -> int:
        """The live web workers the web's master started (not its resource tracker)."""
        master = self.procs["web"].pid
        count = 0
        for proc in Path("/proc").glob("[0-9]*"):
            with contextlib.suppress(OSError, IndexError):
                fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
                spawned = b"spawn_main" in (proc / "cmdline").read_bytes()
                count += int(fields[1]) == master and fields[0] != "Z" and spawned
        return count


def wait_ready(base: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(base + "/readyz", timeout=5).status_code == 200:
                return
        time.sleep(0.3)
    raise AssertionError(f"{base} never became ready")


# -------------------------------------------------------------------------- people


@dataclass
class Ledger:
    """What the people saw: bugs acknowledged, answers by status, lost sessions."""

    filed: int = 0
    outage: bool = False  # the database is being stopped and started again
    web_titles: list[str] = field(default_factory=list)
    bot_titles: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)  # 5xx other than 503
    unavailable_at: list[float] = field(default_factory=list)  # when a 503 came
    lost_sessions: list[str] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)

    def saw(self, response: httpx.Response, what: str) -> None:
        self.statuses[response.status_code] += 1
        if response.status_code == 503:
            self.unavailable_at.append(time.monotonic())
        elif response.status_code >= 500:
            self.server_errors.append(f"{what}: {response.status_code} {response.text[:300]!r}")


async def _web_request(
    ledger: Ledger, c: httpx.AsyncClient, method: str, url: str, **kw: Any
) -> httpx.Response:
    """One request, again after a pause while it answers 503 (the database is away)."""
    deadline = time.monotonic() + STEP_TIMEOUT
    while True:
        response = await c.request(method, url, **kw)
        ledger.saw(response, f"{method} {url}")
        if response.status_code != 503 or time.monotonic() > deadline:
            return response
        await asyncio.sleep(0.3)


async def web_person(ledger: Ledger, base: str, person: int) -> None:
    email = f"web{person}@production.test"
    no_keepalive = httpx.Limits(max_keepalive_connections=0)  # each request: any process
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=no_keepalive) as c:
        page = await _web_request(ledger, c, "GET", "/login")
        token = CSRF_RE.search(page.text)
        assert token, f"no CSRF token on /login: {page.status_code}"
        form = {"csrftoken": token.group(1), "email": email, "password": PASSWORD}
        signed_in = await _web_request(ledger, c, "POST", "/login", data=form)
        assert signed_in.status_code == 303, f"{email}: sign-in answered {signed_in.status_code}"
        for n in range(PER_PERSON):
            title = f"Web report {person}-{n}"
            # A web form is quicker than a bot dialog: keep pace with the bot people, so
            # that both kinds of filing are under way when the faults come (and keep on
            # while the database is away, when the bot people are held up).
            await _until(
                lambda: ledger.outage or len(ledger.web_titles) < len(ledger.bot_titles) + PEOPLE,
                3600,
            )
            page = await _web_request(ledger, c, "GET", "/support/bug")
            if page.status_code in (302, 303) and "/login" in page.headers.get("location", ""):
                ledger.lost_sessions.append(f"{email} before {title!r}")
                return
            assert page.status_code == 200, f"GET /support/bug: {page.status_code}"
            csrf, client_token = CSRF_RE.search(page.text), CLIENT_TOKEN_RE.search(page.text)
            assert csrf and client_token
            data = {
                "csrftoken": csrf.group(1),
                "client_token": client_token.group(1),  # the same on a retry: filed once
                "title": title,
                "what_doing": "Opening the shift list on my phone",
                "expected": "My shifts for the week",
                "actual": "An empty list",
                "priority": ("high", "medium", "low")[n % 3],
            }
            filed = await _web_request(ledger, c, "POST", "/support/bug", data=data)
            location = filed.headers.get("location", "")
            if filed.status_code == 303 and "/login" in location:
                ledger.lost_sessions.append(f"{email} filing {title!r}")
                return
            assert filed.status_code == 303 and location.startswith("/support/bugs/"), (
                f"POST /support/bug {title!r}: {filed.status_code} {filed.text[:300]!r}"
            )
            ledger.web_titles.append(title)
            ledger.filed += 1


async def _answer(user: TgUser, expect: str, after: int) -> Any:
    return await user.standin.wait_for(
        lambda c: c.method in ("sendMessage", "editMessageText") and expect in c.text,
        after=after,
        chat_id=user.id,
        timeout=STEP_TIMEOUT,
    )


async def _say(user: TgUser, text: str, expect: str) -> Any:
    mark = user.mark()
    await user.send_text(text)
    return await _answer(user, expect, mark)


async def _tap(user: TgUser, call: Any, button: str, expect: str) -> Any:
    mark = user.mark()
    await user.press(call, button)
    return await _answer(user, expect, mark)


async def bot_person(ledger: Ledger, telegram: WebhookTelegram, person: int) -> None:
    user = TgUser(telegram, 880_000 + person, first_name=f"Bot{person}")
    await _say(user, "/start", f"Bot{person}")
    for n in range(PER_PERSON):
        title = f"Bot report {person}-{n}"
        await _say(user, "/bug", "Step 1 of 6")
        await _say(user, title, "Step 2 of 6")
        await _say(user, "Opening the shift list", "Step 3 of 6")
        await _say(user, "My shifts for the week", "Step 4 of 6")
        shot = await _say(user, "An empty list", "Step 5 of 6")
        priority = await _tap(user, shot, "Skip", "Step 6 of 6")
        summary = await _tap(user, priority, ("High", "Medium", "Low")[n % 3], "Please check")
        await _tap(user, summary, "Submit", "Thank you")
        ledger.bot_titles.append(title)
        ledger.filed += 1


# --------------------------------------------------------------------------- checks


async def _query(dsn: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


async def _linked(dsn: str) -> int:
    rows = await _query(dsn, "SELECT count(*) FROM bug_logs WHERE github_issue_number IS NOT NULL")
    return int(rows[0][0])


async def _jobs_report(dsn: str) -> str:
    """The state of the queue, for a failure message: what is left and why."""
    rows = await _query(
        dsn,
        "SELECT kind, status, count(*), max(attempts), min(run_after), max(locked_until),"
        " min(left(coalesce(last_error, ''), 200)) FROM jobs GROUP BY kind, status ORDER BY 1, 2",
    )
    return "\n".join(" | ".join(str(v) for v in row) for row in rows)


async def _until(predicate: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True


async def test_a_production_deployment_keeps_every_bug_through_a_killed_worker_and_a_database_restart(  # noqa: E501
    workdir: Path,
    cluster: Cluster,
    redis_url: str,
    github: GithubStandIn,
    telegram: WebhookTelegram,
) -> None:
    started = time.monotonic()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": cluster.dsn,
        "REDIS_URL": redis_url,
        "SECRET_KEY": secrets.token_hex(32),
        "DCC_BASE_URL": base,
        "DCC_VAR_DIR": str(workdir / "var"),
        "DCC_UPLOAD_DIR": str(workdir / "uploads"),
        "GITHUB_TOKEN": "test-token",
        "GITHUB_REPO": REPO,
        "GITHUB_API_URL": github.url,
        "DCC_GITHUB_TIMEOUT": "10",
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_API_URL": telegram.url,
        "DCC_TELEGRAM_WEBHOOK_URL": base,
        "DCC_JOB_LEASE_SECONDS": "10",
        "DCC_LOG_LEVEL": "WARNING",
        "DCC_BUG_RATE_LIMIT": "100000",
        "DCC_LOGIN_MAX_FAILURES": "100000",
        # Search is not what this test is about: without the model, seven processes
        # on a small machine start in seconds.
        "DCC_EMBEDDING_MODEL": "none",
    }
    for name in ("DCC_CONFIG", "TELEGRAM_CHAT_ID", "GITHUB_WEBHOOK_SECRET", "DCC_TIMEZONE"):
        env.pop(name, None)
    deployment = Deployment(env=env, root=workdir, base=base)
    deployment.cli("db", "upgrade")
    for person in range(PEOPLE):
        deployment.cli(
            "users", "create", "--name", f"Web {person}", "--email",
            f"web{person}@production.test", "--password", PASSWORD,
        )  # fmt: skip

    ledger = Ledger()
    try:
        deployment.start("web", "web", "--port", str(port), "--workers", "3")
        deployment.start("worker-1", "worker")
        deployment.start("worker-2", "worker")
        deployment.start("bot", "bot")
        await asyncio.to_thread(wait_ready, base)
        assert await _until(lambda: bool(telegram.webhook), 120), "the bot never set its webhook"
        assert telegram.webhook["url"] == base + "/webhooks/telegram"

        outage: list[float] = []
        killed_holding: list[int] = []

        async def chaos() -> None:
            await _until(lambda: ledger.filed >= TOTAL // 5, STEP_TIMEOUT * PER_PERSON)
            # SIGKILL, no goodbye: at a moment the worker holds a job, whose lease it leaves
            # behind (the next bugs' jobs keep it busy soon enough).
            dead = deployment.procs["worker-1"].pid
            held = f"SELECT id FROM jobs WHERE status = 'running' AND locked_by LIKE '%:{dead}:%'"
            deadline = time.monotonic() + 60
            while not await _query(cluster.dsn, held) and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            deployment.kill("worker-1")
            killed_holding.extend(int(row["id"]) for row in await _query(cluster.dsn, held))
            deployment.start("worker-3", "worker")
            await _until(lambda: ledger.filed >= TOTAL // 2, STEP_TIMEOUT * PER_PERSON)
            outage.append(time.monotonic())
            ledger.outage = True
            await asyncio.to_thread(cluster.stop)
            await asyncio.sleep(3)
            await asyncio.to_thread(cluster.start)
            outage.append(time.monotonic())
            await asyncio.sleep(5)  # the pools reconnect; the bot people catch up
            ledger.outage = False

        people = [web_person(ledger, base, p) for p in range(PEOPLE)]
        people += [bot_person(ledger, telegram, p) for p in range(PEOPLE)]
        chaos_task = asyncio.create_task(chaos())
        try:
            await asyncio.gather(*people)
        except BaseException as exc:
            chaos_task.cancel()
            raise AssertionError(
                f"filing stopped after {ledger.filed} of {TOTAL}: {exc!r}\n{deployment.tails()}"
            ) from exc
        await asyncio.wait_for(chaos_task, 60)
        filed_in = time.monotonic() - started

        linked = await _linked(cluster.dsn)
        deadline = time.monotonic() + LINK_TIMEOUT
        while linked < TOTAL and time.monotonic() < deadline:
            await asyncio.sleep(1)
            linked = await _linked(cluster.dsn)
        linked_in = time.monotonic() - started
        assert linked == TOTAL, (
            f"{linked} of {TOTAL} bugs linked to a GitHub issue after {LINK_TIMEOUT:.0f} s;"
            f" jobs:\n{await _jobs_report(cluster.dsn)}\n{deployment.tails()}"
        )

        alive = {name: proc.poll() is None for name, proc in deployment.procs.items()}
        assert alive == {
            "web": True,
            "worker-1": False,
            "worker-2": True,
            "bot": True,
            "worker-3": True,
        }, f"{alive}\n{deployment.tails()}"
        assert deployment.web_children() == 3, deployment.tail("web")
    finally:
        deployment.stop_all()

    # Every bug once in the database, each linked to its own issue, none twice on GitHub.
    rows = await _query(cluster.dsn, "SELECT id, title, github_issue_number FROM bug_logs")
    titles = Counter(row["title"] for row in rows)
    expected = [f"Web report {p}-{n}" for p in range(PEOPLE) for n in range(PER_PERSON)]
    expected += [f"Bot report {p}-{n}" for p in range(PEOPLE) for n in range(PER_PERSON)]
    assert titles == Counter(expected)
    assert sorted(ledger.web_titles + ledger.bot_titles) == sorted(expected)
    markers = Counter(bug_id_from_body(issue["body"]) for issue in github.issues.values())
    duplicates = sum(n - 1 for n in markers.values())
    assert len(github.issues) == TOTAL and duplicates == 0 and None not in markers
    for row in rows:
        assert bug_id_from_body(github.issues[row["github_issue_number"]]["body"]) == row["id"]

    # No one was signed out; nothing but the documented 503, and that only from the
    # moment the database went away until shortly after it was back.
    assert ledger.lost_sessions == []
    assert ledger.server_errors == []
    assert len(outage) == 2
    assert ledger.unavailable_at, "no web request met the outage: the test proved nothing"

    # The jobs the killed worker held were taken again by another, after their lease.
    assert killed_holding, "the worker was killed holding no job: the test proved nothing"
    ids = ", ".join(map(str, killed_holding))
    retaken = await _query(
        cluster.dsn,
        f"SELECT kind, status, attempts, max_attempts, left(last_error, 300) AS error"
        f" FROM jobs WHERE id IN ({ids})",
    )
    assert all(r["status"] == "done" and r["attempts"] >= 2 for r in retaken), retaken
    assert all(outage[0] <= at <= outage[1] + 30 for at in ledger.unavailable_at), (
        "503 outside the database outage"
    )
    webhook_errors = {k: v for k, v in telegram.answers.items() if k not in (200, 503)}
    assert webhook_errors == {}
    assert not [(c.method, c.result["description"]) for c in telegram.refused]
    print(
        f"\nproduction: {TOTAL} bugs filed ({len(ledger.web_titles)} web,"
        f" {len(ledger.bot_titles)} bot) in {filed_in:.0f} s; {len(github.issues)} GitHub"
        f" issues, {duplicates} duplicates, all linked at {linked_in:.0f} s;"
        f" web answers {dict(ledger.statuses)}; webhook answers {dict(telegram.answers)};"
        f" the killed worker held {len(killed_holding)} job(s), each done by another;"
        f" CI={CI}"
    )
