"""Deployments: registering them (API, webhooks, imports), their commits, and the daily
roll-ups the DORA figures read."""

# Registers the session hooks that keep CommitFirstDeploy and DeploymentDay exact:
# whoever can import a deployment model has them (this runs before any submodule).
from devops_center.deployments import rollups as rollups
