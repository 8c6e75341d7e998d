"""A stand-in GitHub REST server on 127.0.0.1 (real HTTP, its own thread), recording calls.

It also serves the repository's source: ``GET /repos/{repo}`` (the default branch),
``GET /repos/{repo}/commits/{branch}`` (its head, :attr:`StandIn.head_sha`) and
``GET /repos/{repo}/tarball/{ref}``, which answers as GitHub does with a 302 to a
download host — here ``localhost`` instead of ``127.0.0.1``, another origin, so a
client that leaks its token there is caught (:attr:`StandIn.codeload_auth`).

Issue objects are built from the real ``POST /repos/…/issues`` answer recorded by
octokit/fixtures (tests/fixtures/github/api-add-labels-to-issue.json). It can be told to
fail: every request with a status (500, 403 secondary rate limit, 422, 401…) for a while,
or to answer a create only after the client has given up (the issue exists, the answer
is lost).
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "github"
_RECORDED = json.loads((FIXTURES / "api-add-labels-to-issue.json").read_text())
ISSUE_TEMPLATE: dict[str, Any] = _RECORDED[0]["response"]
ERRORS = json.loads((FIXTURES / "observed_error_bodies.json").read_text())
VALIDATION_FAILED = json.loads((FIXTURES / "api-errors.json").read_text())[0]["response"]

SECONDARY_LIMIT_BODY = ERRORS["secondary_rate_limit_2021_2022"]["body"]
BAD_CREDENTIALS_BODY = ERRORS["bad_credentials_401"]["body"]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Failure:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    remaining: int | None = None  # requests left to fail; None = until cleared
    only: str | None = None  # "METHOD /path-prefix" to fail only these


class StandIn:
    def __init__(self, repo: str = "acme/app", login: str = "dcc-bot") -> None:
        self.repo = repo
        self.login = login
        self.lock = threading.Lock()
        self.issues: dict[int, dict[str, Any]] = {}
        self.comments: dict[int, list[dict[str, Any]]] = {}
        self.labels: set[str] = set()
        self.calls: list[tuple[str, str]] = []
        self.version = 0  # bumped on every change: the listing's ETag
        self.failure: Failure | None = None
        self.lose_create_answers = 0  # create, then answer only after the client gave up
        self.delay = 0.0
        self.hang_seconds = 1.0
        self.default_branch = "main"
        self.head_sha = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
        self.tarball: bytes | None = None  # the gzipped tarball of the head commit
        self.codeload_auth: list[str | None] = []  # Authorization seen by the download host
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    # ---------------------------------------------------------------- lifecycle
    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> StandIn:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------------ control
    def fail(self, status: int, body: dict[str, Any] | None = None, **kw: Any) -> None:
        with self.lock:
            self.failure = Failure(status=status, body=body or {"message": "Server Error"}, **kw)

    def recover(self) -> None:
        with self.lock:
            self.failure = None

    def count(self, method: str, prefix: str) -> int:
        with self.lock:
            return sum(1 for m, p in self.calls if m == method and p.startswith(prefix))

    def add_issue(self, title: str, *, body: str = "", labels: list[str] | None = None) -> int:
        with self.lock:
            return self._create(title, body, labels or [])["number"]

    def set_state(self, number: int, state: str) -> None:
        with self.lock:
            issue = self.issues[number]
            issue["state"] = state
            issue["closed_at"] = _now() if state == "closed" else None
            issue["updated_at"] = _now()
            self.version += 1

    def _create(self, title: str, body: str, labels: list[str]) -> dict[str, Any]:
        number = len(self.issues) + 1
        issue = copy.deepcopy(ISSUE_TEMPLATE)
        base = f"https://api.github.com/repos/{self.repo}"
        now = _now()
        issue.update(
            number=number,
            id=1000 + number,
            title=title,
            body=body,
            state="open",
            labels=[{"name": name, "color": "ededed"} for name in labels],
            created_at=now,
            updated_at=now,
            closed_at=None,
            url=f"{base}/issues/{number}",
            repository_url=base,
            html_url=f"https://github.com/{self.repo}/issues/{number}",
        )
        issue["user"] = {**issue.get("user", {}), "login": self.login}
        self.issues[number] = issue
        self.version += 1
        return issue

    # ------------------------------------------------------------------ handler
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _send(
                self, status: int, body: Any = None, headers: dict[str, str] | None = None
            ) -> None:
                data = b"" if body is None else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json; charset=utf-8")
                    self.send_header("content-length", str(len(data)))
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.end_headers()
                    if data:
                        self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _body(self) -> Any:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                return json.loads(raw) if raw else None

            def do_GET(self) -> None:
                self._route("GET")

            def do_POST(self) -> None:
                self._route("POST")

            def do_PATCH(self) -> None:
                self._route("PATCH")

            def _send_bytes(self, status: int, data: bytes, content_type: str) -> None:
                try:
                    self.send_response(status)
                    self.send_header("content-type", content_type)
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _codeload(self, path: str) -> None:
                """The download host: no token needed (nor wanted)."""
                with standin.lock:
                    standin.codeload_auth.append(self.headers.get("authorization"))
                    data = standin.tarball
                if data is None or not path.endswith("/" + standin.head_sha):
                    self._send(404, {"message": "Not Found"})
                else:
                    self._send_bytes(200, data, "application/x-gzip")

            def _route(self, method: str) -> None:
                parts = urlsplit(self.path)
                path, query = parts.path, parse_qs(parts.query)
                body = self._body() if method != "GET" else None
                with standin.lock:
                    standin.calls.append((method, path))
                if path.startswith("/_codeload/"):
                    self._codeload(path)
                    return
                with standin.lock:
                    failure = standin.failure
                    if failure is not None and (
                        failure.only is None or f"{method} {path}".startswith(failure.only)
                    ):
                        if failure.remaining is not None:
                            failure.remaining -= 1
                            if failure.remaining <= 0:
                                standin.failure = None
                        self._send(failure.status, failure.body, failure.headers)
                        return
                    delay = standin.delay
                if delay:
                    time.sleep(delay)
                if self.headers.get("authorization") != "Bearer test-token":
                    self._send(401, BAD_CREDENTIALS_BODY)
                    return
                repo_prefix = f"/repos/{standin.repo}"
                if method == "GET" and path == "/user":
                    self._send(200, {"login": standin.login, "id": 1, "type": "Bot"})
                elif method == "GET" and path == repo_prefix:
                    self._send(
                        200, {"full_name": standin.repo, "default_branch": standin.default_branch}
                    )
                elif method == "GET" and path == f"{repo_prefix}/commits/{standin.default_branch}":
                    self._send(200, {"sha": standin.head_sha})
                elif method == "GET" and path.startswith(repo_prefix + "/tarball/"):
                    ref = path.rsplit("/", 1)[1]
                    port = standin.server.server_address[1]
                    where = f"http://localhost:{port}/_codeload/{standin.repo}/tar.gz/{ref}"
                    self._send(302, None, {"location": where})
                elif path.startswith(repo_prefix + "/labels"):
                    self._labels(method, path[len(repo_prefix) + len("/labels") :], body)
                elif path == repo_prefix + "/issues" and method == "POST":
                    self._create_issue(body)
                elif path == repo_prefix + "/issues" and method == "GET":
                    self._list(query)
                elif path.startswith(repo_prefix + "/issues/") and path.endswith("/comments"):
                    self._comments(method, int(path.split("/")[-2]), body)
                elif path.startswith(repo_prefix + "/issues/") and method == "GET":
                    number = int(path.rsplit("/", 1)[1])
                    with standin.lock:
                        issue = standin.issues.get(number)
                    if issue is None:
                        self._send(404, {"message": "Not Found"})
                    else:
                        self._send(200, issue)
                else:
                    self._send(404, {"message": "Not Found"})

            def _labels(self, method: str, rest: str, body: Any) -> None:
                with standin.lock:
                    if method == "GET" and rest.startswith("/"):
                        name = rest[1:]
                        if name in standin.labels:
                            self._send(200, {"name": name})
                        else:
                            self._send(404, {"message": "Not Found"})
                    elif method == "POST" and rest == "":
                        name = str(body.get("name"))
                        if name in standin.labels:
                            self._send(422, {"message": "Validation Failed", "errors": [
                                {"resource": "Label", "code": "already_exists", "field": "name"}
                            ]})  # fmt: skip
                        else:
                            standin.labels.add(name)
                            self._send(201, {"name": name, "color": body.get("color")})
                    else:
                        self._send(404, {"message": "Not Found"})

            def _comments(self, method: str, number: int, body: Any) -> None:
                with standin.lock:
                    if number not in standin.issues:
                        self._send(404, {"message": "Not Found"})
                        return
                    comments = standin.comments.setdefault(number, [])
                    if method == "GET":
                        self._send(200, list(comments))
                        return
                    if method != "POST" or not isinstance(body, dict) or not body.get("body"):
                        self._send(422, VALIDATION_FAILED)
                        return
                    comment = {
                        "id": 1000 + sum(len(c) for c in standin.comments.values()),
                        "body": str(body["body"]),
                        "user": {"login": standin.login},
                        "created_at": _now(),
                    }
                    comments.append(comment)
                    standin.version += 1
                self._send(201, comment)

            def _create_issue(self, body: Any) -> None:
                if not isinstance(body, dict) or not body.get("title"):
                    self._send(422, VALIDATION_FAILED)
                    return
                with standin.lock:
                    issue = standin._create(
                        str(body["title"]),
                        str(body.get("body") or ""),
                        list(body.get("labels") or []),
                    )
                    lose = standin.lose_create_answers > 0
                    if lose:
                        standin.lose_create_answers -= 1
                if lose:
                    time.sleep(standin.hang_seconds)  # the client has timed out by now
                self._send(201, issue)

            def _list(self, query: dict[str, list[str]]) -> None:
                state = (query.get("state") or ["open"])[0]
                creator = (query.get("creator") or [None])[0]
                per_page = int((query.get("per_page") or ["30"])[0])
                page = int((query.get("page") or ["1"])[0])
                with standin.lock:
                    items = [
                        i
                        for i in standin.issues.values()
                        if (state == "all" or i["state"] == state)
                        and (creator is None or i["user"]["login"] == creator)
                    ]
                    items.sort(key=lambda i: i["number"], reverse=True)
                    key = f"{standin.version}:{state}:{creator}:{per_page}".encode()
                etag = '"' + hashlib.sha256(key).hexdigest()[:32] + '"'
                if page == 1 and self.headers.get("if-none-match") == etag:
                    self._send(304, None, {"etag": etag})
                    return
                chunk = items[(page - 1) * per_page : page * per_page]
                headers = {"etag": etag, "x-ratelimit-remaining": "4999"}
                if page * per_page < len(items):
                    host = self.headers.get("host")
                    params = "&".join(
                        f"{k}={v[0]}" for k, v in sorted(query.items()) if k != "page"
                    )
                    nxt = f"http://{host}/repos/{standin.repo}/issues?{params}&page={page + 1}"
                    headers["link"] = f'<{nxt}>; rel="next"'
                self._send(200, chunk, headers)

        return Handler
