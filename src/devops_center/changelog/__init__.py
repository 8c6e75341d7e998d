"""The changelog journal: one entry per merged pull request, its impact on the
architecture, what went live, and "your fix is live" for the reporters of fixed bugs."""
