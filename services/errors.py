"""Typed vendor failures. Each names its vendor and carries text that is safe to show a person."""

from __future__ import annotations


class VendorError(Exception):
    """A vendor call failed. `str(error)` never contains a secret: only what the vendor said or our summary."""

    #: What the person can do about it, appended when the error is shown.
    advice = "Try again in a minute."

    def __init__(self, vendor: str, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.vendor = vendor
        self.message = message
        self.status = status


class VendorNotConfigured(VendorError):
    """The vendor is off: some of its credentials are empty."""

    def __init__(self, vendor: str, variables: list[str]) -> None:
        super().__init__(vendor, f"{vendor} is not set up")
        self.variables = variables
        self.advice = f"An admin can turn it on by setting {', '.join(variables)}."


class VendorAuthError(VendorError):
    advice = "The credentials Cohost has for it were refused: ask an admin to check them."


class VendorBadRequest(VendorError):
    """The vendor refused what we sent; `message` is the vendor's own text."""

    advice = "Check the command and try again."

    def __init__(self, vendor: str, message: str, *, status: int | None = None, code: int | None = None) -> None:
        super().__init__(vendor, message, status=status)
        self.code = code


class VendorNotFound(VendorError):
    advice = "Check the id: `list` shows the current ones."


class VendorUnavailable(VendorError):
    """Timeouts, refused connections, 5xx, 429 and answers that are not JSON."""

    advice = "It may be down or slow: try again in a minute."


class VendorDisabled(VendorError):
    """The vendor's admin switched this feature off."""

    advice = "Ask the vendor account's admin to enable it."


class VendorUnsupported(VendorError):
    """The vendor's server does not offer this call (an older version)."""

    advice = "The server needs upgrading for this command."


class VendorAccessLimited(VendorError):
    """The credentials were accepted, but what Cohost needs of the account is not open to them (the doctor's
    probes); `advice` says what to open."""

    def __init__(self, vendor: str, message: str, *, advice: str) -> None:
        super().__init__(vendor, message)
        self.advice = advice


class InvalidInput(ValueError):
    """Input a vendor call could not carry intact, refused before any call; the text says what is allowed."""
