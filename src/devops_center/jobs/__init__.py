"""Background jobs. Importing this package registers every job kind and schedule."""

import devops_center.jobs.deployments
import devops_center.jobs.github
import devops_center.jobs.notify
import devops_center.jobs.status
import devops_center.jobs.telegram_files
import devops_center.jobs.users  # noqa: F401
from devops_center.jobs import maintenance  # noqa: F401
