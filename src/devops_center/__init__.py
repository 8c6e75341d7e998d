"""DevOps Command Center: support hub and DevOps cockpit for Telegram and GitHub teams."""

__version__ = "0.1.0"
