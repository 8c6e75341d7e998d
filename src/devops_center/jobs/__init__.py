"""Background jobs. Importing this package registers every job kind and schedule."""

from devops_center.jobs import (
    maintenance,  # noqa: F401
    status,  # noqa: F401
)
