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

# A pull request object: the real one of octokit's recorded ``pull_request`` ``closed``
# delivery (tests/fixtures/github/pull_request.closed.payload.json).
PULL_TEMPLATE: dict[str, Any] = json.loads(
    (FIXTURES / "pull_request.closed.payload.json").read_text()
)["pull_request"]

# A workflow run: the real one of octokit's recorded ``workflow_run`` ``completed``
# delivery (tests/fixtures/dora/workflow_run.completed.json).
RUN_TEMPLATE: dict[str, Any] = json.loads(
    (FIXTURES.parent / "dora" / "workflow_run.completed.json").read_text()
)["workflow_run"]

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
        self.pulls: dict[int, dict[str, Any]] = {}
        self.pull_files: dict[int, list[dict[str, Any]]] = {}
        self.pull_commits: dict[int, list[dict[str, Any]]] = {}
        self.pull_reviews: dict[int, list[dict[str, Any]]] = {}
        self.merged_sha_seq = 0
        self.runs: list[dict[str, Any]] = []  # workflow runs, oldest first
        self.deployments: list[dict[str, Any]] = []  # deployments, oldest first
        self.statuses: dict[int, list[dict[str, Any]]] = {}  # newest first
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

    # ------------------------------------------------------------ pull requests
    def add_pull(
        self,
        title: str,
        *,
        body: str = "",
        author: str = "octocat",
        labels: list[str] | None = None,
        files: list[tuple[str, int, int]] | None = None,
        commit_dates: list[str] | None = None,
        created_at: str | None = None,
    ) -> int:
        """An open pull request (numbered from 501: apart from issues) with its changed
        files ``(path, additions, deletions)`` and the author dates of its commits."""
        with self.lock:
            number = 501 + len(self.pulls)
            pr = copy.deepcopy(PULL_TEMPLATE)
            now = created_at or _now()
            head_sha = hashlib.sha1(f"head-{number}".encode()).hexdigest()
            files = files or [("src/app/main.py", 3, 1)]
            pr.update(
                number=number,
                id=90000 + number,
                title=title,
                body=body,
                state="open",
                merged=False,
                merged_at=None,
                closed_at=None,
                merge_commit_sha=hashlib.sha1(f"test-{number}".encode()).hexdigest(),
                created_at=now,
                updated_at=now,
                labels=[{"name": name} for name in labels or []],
                additions=sum(f[1] for f in files),
                deletions=sum(f[2] for f in files),
                changed_files=len(files),
                html_url=f"https://github.com/{self.repo}/pull/{number}",
                url=f"https://api.github.com/repos/{self.repo}/pulls/{number}",
            )
            pr["user"] = {**pr["user"], "login": author}
            pr["head"] = {**pr["head"], "sha": head_sha, "ref": f"branch-{number}"}
            pr["base"] = {**pr["base"], "ref": self.default_branch}
            self.pulls[number] = pr
            self.pull_files[number] = [
                {"filename": path, "status": "modified", "additions": a, "deletions": d,
                 "changes": a + d}
                for path, a, d in files
            ]  # fmt: skip
            self.pull_commits[number] = [
                {"sha": hashlib.sha1(f"{number}-{i}".encode()).hexdigest(),
                 "commit": {"author": {"name": author, "date": when},
                            "committer": {"name": author, "date": when}}}
                for i, when in enumerate(commit_dates or [now])
            ]  # fmt: skip
            self.pull_reviews[number] = []
            self.version += 1
            return number

    def review_pull(self, number: int, reviewer: str, state: str = "APPROVED") -> dict[str, Any]:
        with self.lock:
            review = {
                "id": 7000 + sum(len(r) for r in self.pull_reviews.values()),
                "user": {"login": reviewer},
                "state": state,
                "submitted_at": _now(),
                "body": "",
            }
            self.pull_reviews[number].append(review)
            self.pulls[number]["updated_at"] = _now()
            return review

    def merge_pull(self, number: int, *, at: str | None = None) -> str:
        """Merge it: closed, merged, with a merge commit. Returns the merge commit's sha."""
        with self.lock:
            pr = self.pulls[number]
            self.merged_sha_seq += 1
            sha = hashlib.sha1(f"merge-{number}-{self.merged_sha_seq}".encode()).hexdigest()
            when = at or _now()
            pr.update(
                state="closed",
                merged=True,
                merged_at=when,
                closed_at=when,
                updated_at=when,
                merge_commit_sha=sha,
            )
            self.version += 1
            return sha

    def close_pull(self, number: int) -> None:
        with self.lock:
            pr = self.pulls[number]
            pr.update(state="closed", merged=False, closed_at=_now(), updated_at=_now())
            self.version += 1

    def pull_payload(self, number: int, action: str) -> dict[str, Any]:
        """The ``pull_request`` delivery GitHub would send for the pull request now."""
        with self.lock:
            return {
                "action": action,
                "number": number,
                "pull_request": copy.deepcopy(self.pulls[number]),
                "repository": {"full_name": self.repo, "name": self.repo.split("/")[1]},
                "sender": {"login": self.pulls[number]["user"]["login"]},
            }

    def review_payload(self, number: int, review: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            pr = {
                k: v
                for k, v in self.pulls[number].items()
                if k not in ("merged", "additions", "deletions", "changed_files", "commits")
            }
            return {
                "action": "submitted",
                "review": copy.deepcopy(review),
                "pull_request": copy.deepcopy(pr),
                "repository": {"full_name": self.repo},
                "sender": review["user"],
            }

    # -------------------------------------------------------- deployment history
    def add_run(
        self,
        *,
        created: str,
        name: str = "CI/CD",
        conclusion: str | None = "success",
        branch: str | None = None,
        attempt: int = 1,
        event: str = "push",
        run_id: int | None = None,
    ) -> dict[str, Any]:
        """A workflow run (the shape of the recorded ``workflow_run`` webhook's run)."""
        with self.lock:
            run = copy.deepcopy(RUN_TEMPLATE)
            rid = run_id or 5_000_000 + len(self.runs)
            sha = hashlib.sha1(f"run-{rid}".encode()).hexdigest()
            run.update(
                id=rid,
                name=name,
                head_branch=branch or self.default_branch,
                head_sha=sha,
                event=event,
                status="completed" if conclusion else "in_progress",
                conclusion=conclusion,
                run_attempt=attempt,
                created_at=created,
                run_started_at=created,
                updated_at=created[:14] + "59:00Z",
                html_url=f"https://github.com/{self.repo}/actions/runs/{rid}",
            )
            run["head_commit"] = {**run["head_commit"], "id": sha, "timestamp": created}
            self.runs.append(run)
            return run

    def add_deployment(
        self,
        *,
        created: str,
        state: str = "success",
        environment: str = "production",
        run: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A deployment with one status (``state``); made by ``run`` when given (its
        status's log URL names the run, as Actions' are)."""
        with self.lock:
            did = 800_000 + len(self.deployments)
            dep = {
                "id": did,
                "sha": run["head_sha"] if run else hashlib.sha1(f"dep-{did}".encode()).hexdigest(),
                "ref": self.default_branch,
                "task": "deploy",
                "environment": environment,
                "description": f"deploy {did}",
                "creator": {"login": "deployer"},
                "created_at": created,
                "updated_at": created,
            }
            log_url = f"{run['html_url']}/job/{did}" if run else ""
            status = {
                "id": 900_000 + did,
                "state": state,
                "environment": environment,
                "log_url": log_url,
                "target_url": log_url,
                "created_at": created[:14] + "58:00Z",
            }
            self.deployments.append(dep)
            self.statuses[did] = [status]
            return dep

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
                        200,
                        {
                            "full_name": standin.repo,
                            "name": standin.repo.split("/")[1],
                            "default_branch": standin.default_branch,
                        },
                    )
                elif method == "GET" and path == f"{repo_prefix}/commits/{standin.default_branch}":
                    self._send(200, {"sha": standin.head_sha})
                elif method == "GET" and path.startswith(repo_prefix + "/tarball/"):
                    ref = path.rsplit("/", 1)[1]
                    port = standin.server.server_address[1]
                    where = f"http://localhost:{port}/_codeload/{standin.repo}/tar.gz/{ref}"
                    self._send(302, None, {"location": where})
                elif path.startswith(repo_prefix + "/actions/runs") and method == "GET":
                    self._runs(path[len(repo_prefix) + len("/actions/runs") :], query)
                elif path.startswith(repo_prefix + "/deployments") and method == "GET":
                    self._deployments(path[len(repo_prefix) + len("/deployments") :], query)
                elif path.startswith(repo_prefix + "/pulls"):
                    self._pulls(path[len(repo_prefix) + len("/pulls") :], query)
                elif path.startswith(repo_prefix + "/labels"):
                    self._labels(method, path[len(repo_prefix) + len("/labels") :], body)
                elif path == repo_prefix + "/issues" and method == "POST":
                    self._create_issue(body)
                elif path == repo_prefix + "/issues" and method == "GET":
                    self._list(query)
                elif path == repo_prefix + "/issues/comments" and method == "GET":
                    self._repo_comments(query)
                elif path.startswith(repo_prefix + "/issues/") and path.endswith("/comments"):
                    self._comments(method, int(path.split("/")[-2]), body)
                elif path.startswith(repo_prefix + "/issues/") and method == "PATCH":
                    number = int(path.rsplit("/", 1)[1])
                    with standin.lock:
                        issue = standin.issues.get(number)
                        if issue is not None:
                            issue.update(body or {})
                    if issue is None:
                        self._send(404, {"message": "Not Found"})
                    else:
                        self._send(200, issue)
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

            def _paged(self, items: list[Any], query: dict[str, list[str]]) -> None:
                per_page = int((query.get("per_page") or ["30"])[0])
                page = int((query.get("page") or ["1"])[0])
                chunk = items[(page - 1) * per_page : page * per_page]
                headers = {"x-ratelimit-remaining": "4999"}
                if page * per_page < len(items):
                    host = self.headers.get("host")
                    params = "&".join(
                        f"{k}={v[0]}" for k, v in sorted(query.items()) if k != "page"
                    )
                    path = urlsplit(self.path).path
                    headers["link"] = f'<http://{host}{path}?{params}&page={page + 1}>; rel="next"'
                self._send(200, chunk, headers)

            def _page_of(
                self, items: list[Any], query: dict[str, list[str]]
            ) -> tuple[list[Any], dict[str, str]]:
                per_page = int((query.get("per_page") or ["30"])[0])
                page = int((query.get("page") or ["1"])[0])
                headers = {"x-ratelimit-remaining": "4999"}
                if page * per_page < len(items):
                    host = self.headers.get("host")
                    params = "&".join(
                        f"{k}={v[0]}" for k, v in sorted(query.items()) if k != "page"
                    )
                    path = urlsplit(self.path).path
                    headers["link"] = f'<http://{host}{path}?{params}&page={page + 1}>; rel="next"'
                return items[(page - 1) * per_page : page * per_page], headers

            def _runs(self, rest: str, query: dict[str, list[str]]) -> None:
                """``/actions/runs`` (newest first; ``created`` as ``a..b`` or ``>=a``,
                ``branch``) and ``/actions/runs/{id}``."""
                with standin.lock:
                    runs = list(reversed(standin.runs))
                if rest.strip("/"):
                    found = [r for r in runs if str(r["id"]) == rest.strip("/")]
                    self._send(*((200, found[0]) if found else (404, {"message": "Not Found"})))
                    return
                created = (query.get("created") or [""])[0]
                low, high = "", "~"
                if created.startswith(">="):
                    low = created[2:]
                elif ".." in created:
                    low, high = created.split("..", 1)
                branch = (query.get("branch") or [None])[0]
                runs = [
                    r
                    for r in runs
                    if low <= r["created_at"] <= high
                    and (branch is None or r["head_branch"] == branch)
                ]
                chunk, headers = self._page_of(runs, query)
                self._send(200, {"total_count": len(runs), "workflow_runs": chunk}, headers)

            def _deployments(self, rest: str, query: dict[str, list[str]]) -> None:
                """``/deployments`` (newest first) and ``/deployments/{id}/statuses``."""
                with standin.lock:
                    deps = list(reversed(standin.deployments))
                    statuses = copy.deepcopy(standin.statuses)
                parts = rest.strip("/").split("/")
                if parts == [""]:
                    chunk, headers = self._page_of(deps, query)
                    self._send(200, chunk, headers)
                elif len(parts) == 2 and parts[1] == "statuses" and int(parts[0]) in statuses:
                    chunk, headers = self._page_of(statuses[int(parts[0])], query)
                    self._send(200, chunk, headers)
                else:
                    self._send(404, {"message": "Not Found"})

            def _pulls(self, rest: str, query: dict[str, list[str]]) -> None:
                with standin.lock:
                    if rest == "":
                        items = sorted(
                            standin.pulls.values(), key=lambda p: p["updated_at"], reverse=True
                        )
                        listing = []
                        for pr in items:
                            short = copy.deepcopy(pr)
                            for key in ("merged", "additions", "deletions", "changed_files"):
                                short.pop(key, None)
                            listing.append(short)
                        self._paged(listing, query)
                        return
                    parts = rest.strip("/").split("/")
                    number = int(parts[0])
                    if number not in standin.pulls:
                        self._send(404, {"message": "Not Found"})
                    elif len(parts) == 1:
                        self._send(200, standin.pulls[number])
                    elif parts[1] == "files":
                        self._paged(standin.pull_files[number], query)
                    elif parts[1] == "commits":
                        self._paged(standin.pull_commits[number], query)
                    elif parts[1] == "reviews":
                        self._paged(standin.pull_reviews[number], query)
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

            def _repo_comments(self, query: dict[str, list[str]]) -> None:
                """``GET /repos/{repo}/issues/comments?since=``: every issue's comments
                updated since then, oldest first (one page)."""
                since = (query.get("since") or [""])[0]
                with standin.lock:
                    listed = [
                        {
                            **c,
                            "issue_url": f"{standin.url}/repos/{standin.repo}/issues/{n}",
                        }
                        for n, comments in standin.comments.items()
                        for c in comments
                        if str(c.get("updated_at") or c["created_at"]) >= since
                    ]
                listed.sort(key=lambda c: str(c.get("updated_at") or c["created_at"]))
                self._send(200, listed)

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
