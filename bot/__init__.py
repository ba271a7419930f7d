"""Cohost's composition root: settings, the app factory, the CLI."""
