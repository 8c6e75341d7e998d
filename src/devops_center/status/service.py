"""System status: which checks exist, their up/down state machine, uptime and history.

The feature's public interface (``from devops_center.status import service as status``);
the rules live in ``checks`` (what is checked, probing), ``state`` (the up/down state
machine), ``maintenance`` (windows), ``uptime``, ``history``, ``retention`` and
``presenter`` (what the pages, the bot, the digest and /metrics show of a check).
"""

from devops_center.status.checks import (
    BUILTIN_CHECKS as BUILTIN_CHECKS,
)
from devops_center.status.checks import (
    DEFAULT_REMINDER_MINUTES as DEFAULT_REMINDER_MINUTES,
)
from devops_center.status.checks import (
    CheckSpec as CheckSpec,
)
from devops_center.status.checks import (
    check_specs as check_specs,
)
from devops_center.status.checks import (
    find_spec as find_spec,
)
from devops_center.status.checks import (
    probe as probe,
)
from devops_center.status.history import (
    Point as Point,
)
from devops_center.status.history import (
    check_incidents as check_incidents,
)
from devops_center.status.history import (
    response_series as response_series,
)
from devops_center.status.hours import (
    ceil_hour as ceil_hour,
)
from devops_center.status.hours import (
    epoch as epoch,
)
from devops_center.status.hours import (
    floor_hour as floor_hour,
)
from devops_center.status.hours import (
    rolled_until as rolled_until,
)
from devops_center.status.hours import (
    set_rolled_until as set_rolled_until,
)
from devops_center.status.maintenance import (
    NOTE_MAX as NOTE_MAX,
)
from devops_center.status.maintenance import (
    WINDOWS_KEPT as WINDOWS_KEPT,
)
from devops_center.status.maintenance import (
    Window as Window,
)
from devops_center.status.maintenance import (
    add_window as add_window,
)
from devops_center.status.maintenance import (
    all_windows as all_windows,
)
from devops_center.status.maintenance import (
    in_maintenance as in_maintenance,
)
from devops_center.status.maintenance import (
    maintenance_windows as maintenance_windows,
)
from devops_center.status.maintenance import (
    parse_when as parse_when,
)
from devops_center.status.maintenance import (
    remove_window as remove_window,
)
from devops_center.status.maintenance import (
    stored_windows as stored_windows,
)
from devops_center.status.presenter import (
    VIEW_STATES as VIEW_STATES,
)
from devops_center.status.presenter import (
    CheckView as CheckView,
)
from devops_center.status.presenter import (
    current_states as current_states,
)
from devops_center.status.presenter import (
    stale_after as stale_after,
)
from devops_center.status.retention import (
    RAW_RETENTION as RAW_RETENTION,
)
from devops_center.status.retention import (
    ROLL_UP_DELAY as ROLL_UP_DELAY,
)
from devops_center.status.retention import (
    ROLLUP_RETENTION as ROLLUP_RETENTION,
)
from devops_center.status.retention import (
    forget_removed_checks as forget_removed_checks,
)
from devops_center.status.retention import (
    purge as purge,
)
from devops_center.status.retention import (
    roll_up as roll_up,
)
from devops_center.status.state import (
    Transition as Transition,
)
from devops_center.status.state import (
    record_result as record_result,
)
from devops_center.status.uptime import (
    WINDOWS as WINDOWS,
)
from devops_center.status.uptime import (
    Uptime as Uptime,
)
from devops_center.status.uptime import (
    uptimes as uptimes,
)
