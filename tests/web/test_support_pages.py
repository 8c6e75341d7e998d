"""Support Hub pages: bug form with uploads, my bugs, the detail page's 404, FAQ, admin triage."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import httpx
from PIL import Image
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from devops_center.config import Settings
from devops_center.outbox.models import Job
from devops_center.support.models import BugLog, FaqEntry
from devops_center.users.models import AuditLog, User
from tests.conftest import csrf_token

GOOD = {
    "title": "The shift list is empty",
    "what_doing": "Opened the shift list",
    "expected": "My shifts",
    "actual": "An empty page",
    "priority": "high",
}


def png_bytes(size: tuple[int, int] = (40, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


def jpeg_with_exif() -> bytes:
    image = Image.new("RGB", (32, 32), (10, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x0131] = "GPS-leaking software"  # Software
    buf = io.BytesIO()
    image.save(buf, format="JPEG", exif=exif.tobytes())
    return buf.getvalue()


async def file_bug(
    client: httpx.AsyncClient,
    data: dict[str, str] | None = None,
    files: dict[str, Any] | None = None,
) -> httpx.Response:
    token = await csrf_token(client, "/support/bug")
    page = (await client.get("/support/bug")).text
    client_token = re.search(r'name="client_token" value="([^"]*)"', page)
    assert client_token
    return await client.post(
        "/support/bug",
        data={"csrftoken": token, "client_token": client_token.group(1), **(data or GOOD)},
        files=files,
    )


async def count(sm: async_sessionmaker[AsyncSession], model: Any) -> int:
    async with sm() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_file_bug_with_screenshot_end_to_end(
    as_role: Any,
    people: dict[str, User],
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    c = await as_role("employee")
    r = await file_bug(c, files={"screenshot": ("shot.jpg", jpeg_with_exif(), "image/jpeg")})
    assert r.status_code == 303, r.text
    location = r.headers["location"]
    assert re.fullmatch(r"/support/bugs/\d+\?new=1", location)
    page = await c.get(location)
    assert page.status_code == 200
    assert "has been saved" in page.text and "The team reads it here" in page.text
    assert "GitHub" not in page.text  # GitHub is off: nothing promises an issue
    async with sessionmaker() as s:
        bug = (await s.execute(select(BugLog))).scalar_one()
        jobs = list((await s.execute(select(Job))).scalars())
    assert bug.user_id == people["employee"].id and bug.priority == "high"
    assert [(j.kind, j.payload) for j in jobs] == [
        ("github.create_issue", {"bug_id": bug.id}),
        ("brain.index", {"source": "bug", "source_id": bug.id}),  # known issues, duplicates
    ]
    assert bug.screenshot_key and bug.screenshot_url == f"/support/bugs/{bug.id}/screenshot"
    stored = settings.uploads_path / bug.screenshot_key
    assert stored.is_file() and b"SecretCam" not in stored.read_bytes()

    shot = await c.get(f"/support/bugs/{bug.id}/screenshot")
    assert shot.status_code == 200
    assert shot.headers["content-type"] == "image/jpeg"
    assert shot.headers["content-disposition"].startswith("inline; filename=")
    assert Image.open(io.BytesIO(shot.content)).getexif().get(0x010F) is None

    # My bugs lists it; another employee gets 404 for page and screenshot; admins see it.
    mine = await c.get("/support/my-bugs")
    assert GOOD["title"] in mine.text
    other = await as_role("manager")
    assert (await other.get(f"/support/bugs/{bug.id}")).status_code == 404
    assert (await other.get(f"/support/bugs/{bug.id}/screenshot")).status_code == 404
    assert GOOD["title"] not in (await other.get("/support/my-bugs")).text
    owner = await as_role("owner")
    assert (await owner.get(f"/support/bugs/{bug.id}")).status_code == 200
    assert (await owner.get(f"/support/bugs/{bug.id}/screenshot")).status_code == 200
    # triage shows the report's text and screenshot, not only its title
    triage = (await owner.get(f"/admin/bugs/{bug.id}")).text
    for field in ("what_doing", "expected", "actual"):
        assert f'<p class="prewrap">{GOOD[field]}</p>' in triage
    assert f'<img class="screenshot" src="/admin/bugs/{bug.id}/screenshot"' in triage
    assert (await owner.get(f"/admin/bugs/{bug.id}/screenshot")).status_code == 200
    # a manager (team lead) reads triage with the screenshot; an employee does not
    lead = await as_role("manager")
    assert "An empty page" in (await lead.get(f"/admin/bugs/{bug.id}")).text
    assert (await lead.get(f"/admin/bugs/{bug.id}/screenshot")).status_code == 200
    assert (await c.get(f"/admin/bugs/{bug.id}/screenshot")).status_code == 403


async def test_a_new_bug_promises_a_github_issue_only_when_github_is_on(
    app: Any, as_role: Any, settings: Settings
) -> None:
    app.state.settings = settings.model_copy(
        update={"github_token": SecretStr("ghp_test"), "github_repo": "acme/app"}
    )
    c = await as_role("employee")
    r = await file_bug(c)
    page = (await c.get(r.headers["location"])).text
    assert "A GitHub issue will be created for it shortly" in page
    assert "not created yet" in page and "The team reads it here" not in page


async def test_double_submit_files_one_bug(
    as_role: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    c = await as_role("employee")
    token = await csrf_token(c, "/support/bug")
    data = {"csrftoken": token, "client_token": "same-form-token-123", **GOOD}
    first = await c.post("/support/bug", data=data)
    second = await c.post("/support/bug", data=data)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert await count(sessionmaker, BugLog) == 1


async def test_invalid_form_keeps_input_and_stores_nothing(
    as_role: Any, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    c = await as_role("employee")
    bad = {**GOOD, "title": "ab", "expected": "   ", "actual": "x" * 10_001}
    r = await file_bug(c, bad)
    assert r.status_code == 422
    assert "at least 3 characters" in r.text
    assert "This field is required" in r.text
    assert "At most 10,000 characters" in r.text
    assert GOOD["what_doing"] in r.text  # input kept
    assert await count(sessionmaker, BugLog) == 0
    assert await count(sessionmaker, Job) == 0


SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
HTML = b"<html><body><script>alert(1)</script></body></html>"
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200


async def test_bad_uploads_are_refused_beside_the_field(
    as_role: Any,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    c = await as_role("employee")
    truncated = png_bytes((300, 300))
    truncated = truncated[: len(truncated) // 2]
    big = b"\x89PNG\r\n\x1a\n" + b"\x00" * (20 * 1024 * 1024)  # the issue's 20 MB file
    cases = [
        ("evil.svg", SVG, "image/svg+xml", "must be a PNG, JPEG or WebP"),
        ("page.png", HTML, "image/png", "must be a PNG, JPEG or WebP"),
        ("setup.jpg", EXE, "image/jpeg", "must be a PNG, JPEG or WebP"),
        ("cut.png", truncated, "image/png", "must be a PNG, JPEG or WebP"),
        ("huge.png", big, "image/png", "too large (at most 5 MB)"),
    ]
    for name, data, ctype, message in cases:
        r = await file_bug(c, files={"screenshot": (name, data, ctype)})
        assert r.status_code == 422, name
        assert message in r.text, name
        assert 'id="screenshot-error"' in r.text
        assert GOOD["title"] in r.text
    assert await count(sessionmaker, BugLog) == 0
    uploads = settings.uploads_path
    assert not uploads.exists() or not any(uploads.iterdir())


async def test_rate_limit_gives_a_friendly_429(
    app: Any, as_role: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    app.state.settings = app.state.settings.model_copy(update={"bug_rate_limit_per_hour": 2})
    c = await as_role("employee")
    for _ in range(2):
        assert (await file_bug(c)).status_code == 303
    r = await file_bug(c, files={"screenshot": ("a.png", png_bytes(), "image/png")})
    assert r.status_code == 429
    assert "2 reports in the last hour" in r.text and "Too many reports" in r.text
    assert r.headers["retry-after"]
    assert await count(sessionmaker, BugLog) == 2
    uploads: Path = app.state.settings.uploads_path
    assert not uploads.exists() or not any(uploads.iterdir())


async def test_csrf_missing_or_wrong_on_multipart_is_a_403_page(as_role: Any) -> None:
    c = await as_role("employee")
    await c.get("/support/bug")
    files = {"screenshot": ("a.png", png_bytes(), "image/png")}
    no_token = await c.post("/support/bug", data=GOOD, files=files)
    assert no_token.status_code == 403 and "form has expired" in no_token.text
    wrong = await c.post("/support/bug", data={"csrftoken": "forged", **GOOD}, files=files)
    assert wrong.status_code == 403
    # a file before the token, and a boundary written without the space, are 403s too
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="screenshot"; filename="a.png"\r\n'
        b"Content-Type: image/png\r\n\r\n" + png_bytes() + b"\r\n--XyZ--\r\n"
    )
    odd = await c.post(
        "/support/bug", content=body, headers={"content-type": "multipart/form-data;boundary=XyZ"}
    )
    assert odd.status_code == 403
    bad_utf8 = await c.post(
        "/support/bug",
        content=b"csrftoken=\xff\xfe&title=x",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert bad_utf8.status_code == 403
    no_boundary = await c.post(
        "/support/bug", content=b"x", headers={"content-type": "multipart/form-data"}
    )
    assert no_boundary.status_code == 403
    c.cookies.clear()
    odd_cookie = await c.get("/support", headers={"cookie": b"csrftoken=\xff\xfe"})
    assert odd_cookie.status_code == 303  # signed out, not a 500


async def test_hub_counts_and_top_faq(
    as_role: Any, people: dict[str, User], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as s, s.begin():
        s.add(
            FaqEntry(
                category="General",
                question="How do I sign in?",
                answer="Use email.",
                language="en",
                views_count=5,
            )
        )
        s.add(
            BugLog(
                user_id=people["employee"].id,
                title="Old bug",
                what_doing="a",
                expected="b",
                actual="c",
                status="resolved",
            )
        )
    c = await as_role("employee")
    page = await c.get("/support")
    assert page.status_code == 200
    assert "Hello, Test employee!" in page.text
    assert "How do I sign in?" in page.text
    assert "You have reported 1 bug." in page.text


async def seed_faq(sm: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    rows = [
        ("Account", "How do I reset my password?", "Ask an admin to reset it.", "en", 1),
        ("Account", "How do I change the language?", "Press RU or EN at the top.", "en", 2),
        ("Shifts", "How do I open a shift?", "Press Start shift and confirm.", "en", 3),
        ("Смены", "Как открыть смену?", "Нажмите «Начать смену» и подтвердите.", "ru", 1),
        ("Смены", "Почему не засчитались часы?", "Часы считаются после закрытия смены.", "ru", 2),
    ]
    ids = {}
    async with sm() as s, s.begin():
        for cat, q, a, lang, order in rows:
            e = FaqEntry(category=cat, question=q, answer=a, language=lang, order_index=order)
            s.add(e)
            await s.flush()
            ids[q] = e.id
    return ids


async def test_faq_search_views_and_votes(
    as_role: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    ids = await seed_faq(sessionmaker)
    c = await as_role("employee")
    page = await c.get("/support/faq")
    assert page.text.index("Account") < page.text.index("Shifts")  # categories in order_index order
    assert "Как открыть смену?" not in page.text  # the user's language only

    found = await c.get("/support/faq", params={"q": "shifts"}, headers={"HX-Request": "true"})
    assert "<html" not in found.text  # a fragment for HTMX
    restore = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
    assert "<html" in (await c.get("/support/faq", params={"q": "shifts"}, headers=restore)).text
    assert "How do I open a shift?" in found.text
    assert "reset my password" not in found.text
    prefix = await c.get("/support/faq", params={"q": "passw"})
    assert "How do I reset my password?" in prefix.text
    none = await c.get("/support/faq", params={"q": "kubernetes"})
    assert "Nothing found" in none.text and "/support/bug?title=kubernetes" in none.text
    category = await c.get("/support/faq", params={"category": "Shifts"})
    assert "open a shift" in category.text and "reset my password" not in category.text

    entry_id = ids["How do I open a shift?"]
    await c.get(f"/support/faq/{entry_id}")
    page = await c.get(f"/support/faq/{entry_id}")
    assert "2 views" in page.text
    token = await csrf_token(c, f"/support/faq/{entry_id}")
    vote = await c.post(
        f"/support/faq/{entry_id}/vote",
        data={"csrftoken": token, "helpful": "1"},
        headers={"HX-Request": "true"},
    )
    assert vote.status_code == 200 and "Thank you for your vote" in vote.text
    again = await c.post(f"/support/faq/{entry_id}/vote", data={"csrftoken": token, "helpful": "0"})
    assert again.status_code == 303
    async with sessionmaker() as s:
        e = await s.get(FaqEntry, entry_id)
        assert e is not None
        assert (e.helpful_count, e.not_helpful_count, e.views_count) == (0, 1, 3)


async def test_russian_faq_search_finds_inflected_words(
    make_client: Any, people: dict[str, User], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await seed_faq(sessionmaker)
    from tests.conftest import login

    c = make_client()
    await login(c, people["manager"].email or "")
    token = await csrf_token(c, "/support")
    await c.post("/language", data={"csrftoken": token, "language": "ru", "next": "/support"})
    page = await c.get("/support/faq", params={"q": "смены"})
    assert "Как открыть смену?" in page.text
    assert "Часы считаются" in page.text or "засчитались" in page.text
    assert "Часто задаваемые вопросы" in page.text


async def test_admin_triage_changes_status_and_notifies_reporter(
    as_role: Any, people: dict[str, User], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    employee = await as_role("employee")
    assert (await file_bug(employee)).status_code == 303
    async with sessionmaker() as s:
        bug = (await s.execute(select(BugLog))).scalar_one()
    owner = await as_role("owner")
    listing = await owner.get("/admin/bugs", params={"status": "open", "priority": "high"})
    assert GOOD["title"] in listing.text
    assert GOOD["title"] not in (await owner.get("/admin/bugs", params={"status": "closed"})).text
    assert GOOD["title"] in (await owner.get("/admin/bugs", params={"q": "shift list"})).text
    token = await csrf_token(owner, f"/admin/bugs/{bug.id}")
    r = await owner.post(
        f"/admin/bugs/{bug.id}",
        data={
            "csrftoken": token,
            "status": "resolved",
            "priority": "low",
            "assignee": str(people["superadmin"].id),
        },
    )
    assert r.status_code == 303
    page = await owner.get(r.headers["location"])
    assert "Saved" in page.text
    assert "Status: Open → Resolved" in page.text  # the history: who, when, what
    assert "Assignee: — → Test superadmin" in page.text
    async with sessionmaker() as s:
        bug = (await s.execute(select(BugLog))).scalar_one()
        assert bug.status == "resolved" and bug.resolved_at is not None
        assert bug.priority == "low" and bug.assigned_to == people["superadmin"].id
        notes = list((await s.execute(select(Job).where(Job.kind == "notify.user"))).scalars())
        assert [n.payload for n in notes] == [
            {
                "user_id": people["employee"].id,
                "event": "bug_status",
                "bug_id": bug.id,
                "old": "open",
                "new": "resolved",
            }
        ]
        audit = (await s.execute(select(AuditLog).where(AuditLog.entity == "bug"))).scalar_one()
        assert audit.actor_id == people["owner"].id
    # reopening clears resolved_at; a bad status changes nothing
    await owner.post(f"/admin/bugs/{bug.id}", data={"csrftoken": token, "status": "open"})
    bad = await owner.post(
        f"/admin/bugs/{bug.id}", data={"csrftoken": token, "status": "bogus", "priority": "high"}
    )
    assert bad.status_code == 422
    async with sessionmaker() as s:
        bug = (await s.execute(select(BugLog))).scalar_one()
        assert bug.status == "open" and bug.resolved_at is None and bug.priority == "low"
    # employees can't triage
    emp_token = await csrf_token(employee, "/support/bug")
    denied = await employee.post(
        f"/admin/bugs/{bug.id}", data={"csrftoken": emp_token, "status": "closed"}
    )
    assert denied.status_code == 403


async def test_admin_faq_crud_and_categories(
    as_role: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    ids = await seed_faq(sessionmaker)
    owner = await as_role("owner")
    token = await csrf_token(owner, "/admin/faq/new")
    invalid = await owner.post(
        "/admin/faq/new",
        data={"csrftoken": token, "category": "", "question": "Q?", "answer": "", "language": "en"},
    )
    assert invalid.status_code == 422 and "This field is required" in invalid.text
    created = await owner.post(
        "/admin/faq/new",
        data={
            "csrftoken": token,
            "category": "Billing",
            "question": "When is payday?",
            "answer": "On the 5th and the 20th.",
            "language": "en",
        },
    )
    assert created.status_code == 303
    employee = await as_role("employee")
    assert "When is payday?" in (await employee.get("/support/faq", params={"q": "payday"})).text

    entry_id = ids["How do I open a shift?"]
    edited = await owner.post(
        f"/admin/faq/{entry_id}",
        data={
            "csrftoken": token,
            "category": "Shifts",
            "question": "How do I start a shift?",
            "answer": "Press Start shift and confirm your location.",
            "language": "en",
            "order_index": "3",
        },
    )
    assert edited.status_code == 303
    refused = await owner.post(
        f"/admin/faq/{entry_id}",
        data={"csrftoken": token, "category": "Shifts", "question": "", "answer": "Kept as typed"},
    )
    assert refused.status_code == 422 and "This field is required" in refused.text
    assert "Kept as typed" in refused.text and f'action="/admin/faq/{entry_id}"' in refused.text
    found = await employee.get("/support/faq", params={"q": "location"})
    assert "How do I start a shift?" in found.text  # the search index follows edits

    moved = await owner.post(
        f"/admin/faq/{entry_id}/move", data={"csrftoken": token, "direction": "up"}
    )
    assert moved.status_code == 303
    renamed = await owner.post(
        "/admin/faq-categories/rename",
        data={"csrftoken": token, "language": "en", "old": "Account", "new": "Profile"},
    )
    assert renamed.status_code == 303
    assert "Profile" in (await employee.get("/support/faq")).text
    deleted = await owner.post(f"/admin/faq/{entry_id}/delete", data={"csrftoken": token})
    assert deleted.status_code == 303
    assert "start a shift" not in (await employee.get("/support/faq", params={"q": "shift"})).text
    gone = await owner.post(
        "/admin/faq-categories/delete",
        data={"csrftoken": token, "language": "en", "category": "Profile"},
    )
    assert gone.status_code == 303
    async with sessionmaker() as s:
        left = {e.question for e in (await s.execute(select(FaqEntry))).scalars()}
        actions = [a.action for a in (await s.execute(select(AuditLog))).scalars()]
    assert "How do I reset my password?" not in left and "When is payday?" in left
    assert {"create", "update", "move", "rename", "delete"} <= set(actions)
    forbidden = await employee.post(
        f"/admin/faq/{ids['Как открыть смену?']}/delete",
        data={"csrftoken": await csrf_token(employee, "/support/bug")},
    )
    assert forbidden.status_code == 403


async def test_a_new_faq_entry_without_order_joins_its_category(
    as_role: Any, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """Saved with an empty order an entry goes last; its category keeps one heading on
    /support/faq and in the admin list, and Up/Down move it as the pages show it."""
    await seed_faq(sessionmaker)
    owner = await as_role("owner")
    token = await csrf_token(owner, "/admin/faq/new")
    created = await owner.post(
        "/admin/faq/new",
        data={
            "csrftoken": token, "category": "Account", "question": "Where is my profile?",
            "answer": "Menu, then Profile.", "language": "en", "order_index": "",
        },
    )  # fmt: skip
    assert created.status_code == 303
    page = (await (await as_role("employee")).get("/support/faq")).text
    assert page.count('<h2 class="faq-category">Account</h2>') == 1
    headings = re.findall(r'<h2 class="faq-category">([^<]+)</h2>', page)
    assert headings == ["Account", "Shifts"]
    questions = re.findall(r'<h3><a href="/support/faq/\d+">([^<]+)</a></h3>', page)
    assert questions.index("Where is my profile?") < questions.index("How do I open a shift?")

    async def admin_order() -> list[str]:
        html = (await owner.get("/admin/faq?language=en")).text
        return re.findall(r'<td><a href="/admin/faq/\d+">([^<]+)</a></td>', html)

    assert await admin_order() == [
        "How do I reset my password?", "How do I change the language?",
        "Where is my profile?", "How do I open a shift?",
    ]  # fmt: skip
    async with sessionmaker() as s:
        new = (
            await s.execute(select(FaqEntry).where(FaqEntry.question == "Where is my profile?"))
        ).scalar_one()
    moved = await owner.post(
        f"/admin/faq/{new.id}/move", data={"csrftoken": token, "direction": "up"}
    )
    assert moved.status_code == 303
    assert (await admin_order())[1:3] == ["Where is my profile?", "How do I change the language?"]
    # stable: the same order on every reload, and the public page agrees
    assert await admin_order() == await admin_order()
    page = (await (await as_role("employee")).get("/support/faq")).text
    assert re.findall(r'<h2 class="faq-category">([^<]+)</h2>', page) == ["Account", "Shifts"]
