"""Slack-facing code: command families, buttons, modals, Block Kit rendering, parsing."""
