"""The ``dcc`` command line (Typer). ``dcc --help`` lists everything.

Each feature's commands live in their own module (``cli/<feature>.py``); this package
only puts them together. The order below is the order ``dcc --help`` lists them in:
top-level commands first, then the command groups.
"""

from __future__ import annotations

import logging

import typer

from devops_center.cli import database, digest, serving, status_report
from devops_center.cli.arch import arch_app
from devops_center.cli.brain import brain_app, faq_app
from devops_center.cli.config_report import config_app
from devops_center.cli.deploy import deploy_app
from devops_center.cli.dora import dora_app
from devops_center.cli.github import github_app
from devops_center.cli.jobs import jobs_app
from devops_center.cli.team import audit_app
from devops_center.cli.tokens import tokens_app
from devops_center.cli.users import users_app

app = typer.Typer(
    name="dcc",
    help="DevOps Command Center: support hub and DevOps cockpit.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for command in (serving.demo, serving.serve, serving.web, serving.worker, serving.bot):
    app.command()(command)
app.command()(database.backup)
app.command()(database.restore)
app.command("status")(status_report.status_command)
app.command()(digest.digest)

app.add_typer(database.db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(config_app, name="config")
app.add_typer(jobs_app, name="jobs")
app.add_typer(github_app, name="github")
app.add_typer(arch_app, name="arch")
app.add_typer(deploy_app, name="deploy")
app.add_typer(dora_app, name="dora")
app.add_typer(brain_app, name="brain")
app.add_typer(faq_app, name="faq")
app.add_typer(audit_app, name="audit")


def main() -> None:
    logging.captureWarnings(True)
    app()
