"""A local stand-in for GitHub's REST API (compare, commits), on an OS-chosen port."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Route = tuple[int, Any, dict[str, str]]


class GithubStandIn:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.url = ""

    def on(self, path: str, body: Any, status: int = 200, headers: dict[str, str] | None = None):
        self.routes[path] = (status, body, headers or {})


def commit_object(sha: str, date: str, message: str = "change", login: str = "olga") -> dict:
    """The shape of a commit in GitHub's compare/commits answers."""
    person = {"name": login.title(), "email": f"{login}@example.com", "date": date}
    return {
        "sha": sha,
        "node_id": "C_x",
        "commit": {
            "author": person,
            "committer": person,
            "message": message,
            "tree": {"sha": "f" * 40, "url": "https://api.github.com/x"},
            "comment_count": 0,
            "verification": {"verified": False, "reason": "unsigned"},
        },
        "url": f"https://api.github.com/repos/o/r/commits/{sha}",
        "html_url": f"https://github.com/o/r/commit/{sha}",
        "author": {"login": login, "id": 1, "type": "User"},
        "committer": {"login": "web-flow", "id": 2, "type": "User"},
        "parents": [],
    }


@contextmanager
def github_standin() -> Iterator[GithubStandIn]:
    state = GithubStandIn()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            state.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
            status, body, headers = state.routes.get(path, (404, {"message": "Not Found"}, {}))
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
