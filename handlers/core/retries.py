"""How scheduled work that fails is tried again: after growing delays, five times at most (about half an hour in
all), then given up, its person told once. Shared by the jobs of cards (`scheduled`) and the digests (`digest`).

Five retries at 1, 2, 4, 8 and 15 minutes: a vendor restarting or a Slack hiccup is ridden out within a minute
or two, an outage of up to half an hour is waited out, and past that the person is better told than kept waiting.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import aiohttp
from slack_sdk.errors import SlackApiError

from services.errors import VendorError

#: The wait before each retry, in order: the sixth failure in a row gives up, 30 minutes after the first.
RETRY_DELAYS = tuple(timedelta(minutes=minutes) for minutes in (1, 2, 4, 8, 15))
#: Tries in all: the first and its retries.
TRIES = 1 + len(RETRY_DELAYS)


def next_try(failed_in_a_row: int, now: datetime) -> datetime | None:
    """When to try again after this many failed tries in a row; None once they are used up: give up."""
    if failed_in_a_row < 1 or failed_in_a_row > len(RETRY_DELAYS):
        return None
    return now + RETRY_DELAYS[failed_in_a_row - 1]


def what_failed(error: BaseException) -> str:
    """The failure in words a person may read: the vendor's own message or Slack's error code. Never a secret
    (a vendor error's text is kept free of them) and never a stack trace."""
    if isinstance(error, VendorError):
        message = error.message.rstrip(".")
        return message if error.vendor in message else f"{error.vendor} answered: {message}"
    if isinstance(error, SlackApiError):
        return f"Slack answered `{error.response.get('error') or 'an error'}`"
    if isinstance(error, aiohttp.ClientError):
        return "Slack could not be reached"
    if isinstance(error, TimeoutError):
        return "it did not finish in time"
    return "something went wrong inside Cohost (the logs have the details)"
