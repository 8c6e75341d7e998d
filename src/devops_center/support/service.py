"""The support feature's public interface: bug reports and the FAQ, as the web, the bot,
the API and the other features call them (``from devops_center.support import service
as support``). The rules live in ``filing`` (the one way a bug is filed), ``bugs`` and
``faq``; this module only names them.
"""

from devops_center.support.bugs import (
    SORTS as SORTS,
)
from devops_center.support.bugs import (
    TEXT_MAX as TEXT_MAX,
)
from devops_center.support.bugs import (
    TITLE_MAX as TITLE_MAX,
)
from devops_center.support.bugs import (
    TITLE_MIN as TITLE_MIN,
)
from devops_center.support.bugs import (
    BugFilter as BugFilter,
)
from devops_center.support.bugs import (
    BugInput as BugInput,
)
from devops_center.support.bugs import (
    bug_by_client_token as bug_by_client_token,
)
from devops_center.support.bugs import (
    bug_counts_by_status as bug_counts_by_status,
)
from devops_center.support.bugs import (
    bug_counts_by_status_priority as bug_counts_by_status_priority,
)
from devops_center.support.bugs import (
    bug_for_github_issue as bug_for_github_issue,
)
from devops_center.support.bugs import (
    bug_history as bug_history,
)
from devops_center.support.bugs import (
    bug_page as bug_page,
)
from devops_center.support.bugs import (
    check_bug_rate_limit as check_bug_rate_limit,
)
from devops_center.support.bugs import (
    close_own_bug as close_own_bug,
)
from devops_center.support.bugs import (
    critical_open_bugs as critical_open_bugs,
)
from devops_center.support.bugs import (
    find_by_client_token as find_by_client_token,
)
from devops_center.support.bugs import (
    get_bug as get_bug,
)
from devops_center.support.bugs import (
    get_bug_as as get_bug_as,
)
from devops_center.support.bugs import (
    get_bug_for as get_bug_for,
)
from devops_center.support.bugs import (
    link_github_issue as link_github_issue,
)
from devops_center.support.bugs import (
    list_bugs as list_bugs,
)
from devops_center.support.bugs import (
    my_bugs as my_bugs,
)
from devops_center.support.bugs import (
    screenshot_stored as screenshot_stored,
)
from devops_center.support.bugs import (
    set_public_summary as set_public_summary,
)
from devops_center.support.bugs import (
    update_bug as update_bug,
)
from devops_center.support.bugs import (
    validate_bug as validate_bug,
)
from devops_center.support.comments import (
    COMMENT_MAX as COMMENT_MAX,
)
from devops_center.support.comments import (
    Added as Added,
)
from devops_center.support.comments import (
    CommentInput as CommentInput,
)
from devops_center.support.comments import (
    TimelineItem as TimelineItem,
)
from devops_center.support.comments import (
    add_comment as add_comment,
)
from devops_center.support.comments import (
    add_photo_later as add_photo_later,
)
from devops_center.support.comments import (
    comment_attachment as comment_attachment,
)
from devops_center.support.comments import (
    drop_github_comment as drop_github_comment,
)
from devops_center.support.comments import (
    edit_github_comment as edit_github_comment,
)
from devops_center.support.comments import (
    get_comment as get_comment,
)
from devops_center.support.comments import (
    is_team as is_team,
)
from devops_center.support.comments import (
    list_comments as list_comments,
)
from devops_center.support.comments import (
    mark_comment_posted as mark_comment_posted,
)
from devops_center.support.comments import (
    people_names as people_names,
)
from devops_center.support.comments import (
    record_github_comment as record_github_comment,
)
from devops_center.support.comments import (
    timeline as timeline,
)
from devops_center.support.faq import (
    CATEGORY_MAX as CATEGORY_MAX,
)
from devops_center.support.faq import (
    QUESTION_MAX as QUESTION_MAX,
)
from devops_center.support.faq import (
    FaqInput as FaqInput,
)
from devops_center.support.faq import (
    create_faq as create_faq,
)
from devops_center.support.faq import (
    delete_category as delete_category,
)
from devops_center.support.faq import (
    delete_faq as delete_faq,
)
from devops_center.support.faq import (
    faq_categories as faq_categories,
)
from devops_center.support.faq import (
    faq_category_summary as faq_category_summary,
)
from devops_center.support.faq import (
    faq_entries as faq_entries,
)
from devops_center.support.faq import (
    get_faq as get_faq,
)
from devops_center.support.faq import (
    list_faq as list_faq,
)
from devops_center.support.faq import (
    move_faq as move_faq,
)
from devops_center.support.faq import (
    my_vote as my_vote,
)
from devops_center.support.faq import (
    open_faq as open_faq,
)
from devops_center.support.faq import (
    rename_category as rename_category,
)
from devops_center.support.faq import (
    reorder_faq as reorder_faq,
)
from devops_center.support.faq import (
    search_faq as search_faq,
)
from devops_center.support.faq import (
    top_faq as top_faq,
)
from devops_center.support.faq import (
    update_faq as update_faq,
)
from devops_center.support.faq import (
    validate_faq as validate_faq,
)
from devops_center.support.faq import (
    vote_faq as vote_faq,
)
from devops_center.support.filing import (
    BugReport as BugReport,
)
from devops_center.support.filing import (
    Filed as Filed,
)
from devops_center.support.filing import (
    file_bug as file_bug,
)
