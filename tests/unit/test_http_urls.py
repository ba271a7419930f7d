"""A vendor's base URL and a path join with exactly one slash, however each is written in the settings."""

from __future__ import annotations

from services.http import join_url


def test_urls_join_with_exactly_one_slash() -> None:
    assert join_url("https://a.example/v1/", "/sessions") == "https://a.example/v1/sessions"
    assert join_url("https://a.example/v1", "sessions") == "https://a.example/v1/sessions"
