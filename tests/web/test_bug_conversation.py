"""A bug's page: the conversation and timeline (en and ru), replies with an image, internal
notes for the team only, the reporter closing their own bug, and the notification
setting on the account page."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select

from devops_center.support.models import BugComment, BugLog
from devops_center.users import service as users
from devops_center.users.models import User
from tests.conftest import post_form
from tests.web.test_support_pages import file_bug, png_bytes


def _client_token(page: str) -> str:
    match = re.search(r'id="reply".*?name="client_token" value="([^"]*)"', page, re.S)
    assert match, "no reply form"
    return match.group(1)


async def _reply(client: Any, bug_id: int, **data: Any) -> Any:
    path = f"/support/bugs/{bug_id}"
    token = _client_token((await client.get(path)).text)
    files = data.pop("files", None)
    return await post_form(
        client,
        f"{path}/comments",
        {"client_token": token, **data},
        form_page=path,
        files=files,
    )


async def test_reporter_and_team_talk_on_the_bug_page(
    as_role: Any, people: dict[str, User], sessionmaker: Any
) -> None:
    employee = await as_role("employee")
    owner = await as_role("owner")
    filed = await file_bug(employee)
    bug_id = int(filed.headers["location"].split("/")[-1].split("?")[0])
    page = (await employee.get(f"/support/bugs/{bug_id}")).text
    assert "Conversation" in page and "Add information or reply" in page
    assert 'name="internal"' not in page and "Close my bug" in page

    sent = await _reply(
        employee,
        bug_id,
        body="It happens after the update",
        files={"attachment": ("shot.png", png_bytes(), "image/png")},
    )
    assert sent.status_code == 303 and "#comment-" in sent.headers["location"]
    page = (await owner.get(f"/support/bugs/{bug_id}")).text
    assert "It happens after the update" in page and 'name="internal"' in page
    assert "Close my bug" not in page  # not the owner's own bug
    image = re.search(r'src="(/support/bugs/\d+/comments/\d+/attachment)"', page)
    assert image and (await owner.get(image.group(1))).headers["content-type"] == "image/png"

    assert (await _reply(owner, bug_id, body="Thanks, looking")).status_code == 303
    note = await _reply(owner, bug_id, body="Same as the CDN issue last week", internal="1")
    assert note.status_code == 303
    seen = (await employee.get(f"/support/bugs/{bug_id}")).text
    assert "Thanks, looking" in seen and "CDN issue" not in seen
    assert "CDN issue" in (await owner.get(f"/support/bugs/{bug_id}")).text
    # A reporter's "internal" is refused, and the page says why.
    refused = await _reply(employee, bug_id, body="secret", internal="1")
    assert refused.status_code == 422 and "Only the team writes internal notes" in refused.text
    empty = await _reply(employee, bug_id, body="  ")
    assert empty.status_code == 422 and "Write a message or attach an image" in empty.text
    # Another employee's view of the bug: there is none.
    manager = await as_role("manager")
    assert (await manager.get(f"/support/bugs/{bug_id}")).status_code == 404
    token = _client_token((await employee.get(f"/support/bugs/{bug_id}")).text)
    other = await post_form(
        manager,
        f"/support/bugs/{bug_id}/comments",
        {"client_token": token, "body": "hi"},
        form_page="/support",
    )
    assert other.status_code == 404

    closed = await post_form(
        employee, f"/support/bugs/{bug_id}/close", {}, form_page=f"/support/bugs/{bug_id}"
    )
    assert closed.status_code == 303
    async with sessionmaker() as s:
        bug = await s.get(BugLog, bug_id)
        assert bug is not None and bug.status == "closed"
        assert await s.scalar(select(func.count()).select_from(BugComment)) == 3
    page = (await employee.get(f"/support/bugs/{bug_id}")).text
    assert "Test employee changed the status: Open → Closed" in page
    assert "Close my bug" not in page

    async with sessionmaker() as s, s.begin():
        await users.set_language(s, user_id=people["employee"].id, language="ru")
    ru = (await employee.get(f"/support/bugs/{bug_id}")).text
    assert "Обсуждение" in ru and "Статус изменён (Test employee): Открыт → Закрыт" in ru, ru


async def test_a_double_submitted_reply_is_stored_once(as_role: Any, sessionmaker: Any) -> None:
    employee = await as_role("employee")
    filed = await file_bug(employee)
    bug_id = int(filed.headers["location"].split("/")[-1].split("?")[0])
    path = f"/support/bugs/{bug_id}"
    token = _client_token((await employee.get(path)).text)
    for _ in range(2):
        r = await post_form(
            employee, f"{path}/comments", {"client_token": token, "body": "once"}, form_page=path
        )
        assert r.status_code == 303
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(BugComment)) == 1


async def test_the_notification_setting(
    as_role: Any, people: dict[str, User], sessionmaker: Any
) -> None:
    employee = await as_role("employee")
    page = (await employee.get("/account/sessions")).text
    assert 'value="telegram" checked' in page
    r = await post_form(
        employee, "/account/notifications", {"notify_via": "none"}, form_page="/account/sessions"
    )
    assert r.status_code == 303
    page = (await employee.get("/account/sessions?notify=1")).text
    assert 'value="none" checked' in page and "Saved." in page
    bad = await post_form(
        employee, "/account/notifications", {"notify_via": "email"}, form_page="/account/sessions"
    )
    assert bad.status_code == 422
    async with sessionmaker() as s:
        user = await s.get(User, people["employee"].id)
        assert user is not None and user.notify_via == "none"
