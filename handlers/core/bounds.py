"""Typed text, before any grammar: Slack's escapes unwrapped, words split (quotes kept together), and the bounds
of DESIGN.md ("Bounded input") on what Cohost hands a vendor and records: names, URLs, numbers.

Slack sends text escaped (`should_escape: true`): mentions `<@U1|ann>`, channels `<#C1|x>`, links
`<https://a|label>`, e-mail `<mailto:a@b|a@b>`, and `&amp; &lt; &gt;`; all are unwrapped here.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit

from handlers.core.addresses import invalid_host, private_reason

#: DESIGN.md, "Bounded input": names, URLs and minutes Cohost hands a vendor (and then records).
MAX_NAME = 150
MAX_URL = 2000
MAX_MINUTES = 10_080  # a week
_SLACK_ESCAPE = re.compile(r"<([^<>]*)>")
#: Control characters no command needs anywhere (tabs and line breaks separate words, or sit in a message).
_STRAY_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
#: Characters that change the direction text is shown in: in a name they could make it read as another.
_BIDI_CONTROL = re.compile(r"[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
#: What no web address carries as it is: white space, control characters, and `\`, which browsers (and so
#: perhaps a vendor's fetcher) read as `/`, so that `http://127.0.0.1\@a.example` goes to 127.0.0.1.
_NOT_IN_URL = re.compile(r"[\s\x00-\x1f\x7f-\x9f\\]")
_SMART_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'"})


class ParseError(Exception):
    def __init__(self, message: str, usage: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage


def unescape(text: str) -> str:
    """Unwraps Slack's escaped mentions, channels, links and e-mail addresses, then its HTML entities."""
    return _unwrap(text, keep_ids=True)


def as_typed(text: str) -> str:
    """The command as the person saw it while typing (`@ann`, `#general`, `https://a.example`, `<`): what is
    given back with a failure, to copy and try again."""
    return _unwrap(text, keep_ids=False)


def _unwrap(text: str, *, keep_ids: bool) -> str:
    def unwrap(match: re.Match[str]) -> str:
        inner = match.group(1)
        target, _, label = inner.partition("|")
        if target.startswith(("@", "#")):
            # The parser keeps a mention recognisable (`<@U123>`); a person sees the name.
            return f"<{target}>" if keep_ids else f"{target[0]}{label.lstrip('@#') or target[1:]}"
        if target.startswith("!"):
            return f"@{label.lstrip('@') or target[1:]}"
        if target.startswith("mailto:"):
            return target.removeprefix("mailto:")
        return target

    text = _SLACK_ESCAPE.sub(unwrap, text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def tokenize(text: str) -> list[str]:
    """Splits on white space; `"..."` and `'...'` (straight or curly) make one token."""
    tokens: list[str] = []
    current: list[str] = []
    in_token = False
    quote: str | None = None
    for char in text.translate(_SMART_QUOTES):
        if quote is not None:
            if char == quote:
                quote = None
            else:
                current.append(char)
        elif char in "\"'" and not current:
            quote = char
            in_token = True
        elif char.isspace():
            if in_token:
                tokens.append("".join(current))
                current, in_token = [], False
        else:
            current.append(char)
            in_token = True
    if quote is not None:
        raise ParseError(f"A quote ({quote}) is not closed.")
    if in_token:
        tokens.append("".join(current))
    return tokens


@dataclass(frozen=True)
class InputRules:
    """What this deployment allows beyond the fixed bounds (its settings)."""

    #: `COHOST_ALLOW_PRIVATE_URLS`: URLs naming this machine or a private network may go to vendors.
    allow_private_urls: bool = False


#: The rules of a deployment that allows nothing beyond the fixed bounds (the default).
STRICT = InputRules()


def web_url(text: str, rules: InputRules, what: str = "URL") -> str:
    """`text` if it is a full http(s) address Cohost may hand a vendor, else a ParseError saying why (`what`
    names the argument it was given as)."""
    if len(text) > MAX_URL:
        raise ParseError(f"{what} is {len(text):,} characters long: give a URL of at most {MAX_URL:,}.")
    if _NOT_IN_URL.search(text):
        raise ParseError(f"{what} `{text}` has a space, a backslash or a control character in it: give the URL alone.")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ParseError(f"`{text}` is not a web address: give a full http:// or https:// URL.")
    if invalid_host(text):
        raise ParseError(f"{what} `{text}` does not name a valid host: check the address.")
    reason = None if rules.allow_private_urls else private_reason(text)
    if reason is not None:
        raise ParseError(
            f"{what} `{text}` names {reason}, and Cohost hands vendors only public addresses. Give a public "
            "http(s) URL (an admin can allow private ones with COHOST_ALLOW_PRIVATE_URLS)."
        )
    return text


def person_name(text: str, what: str = "--name") -> str:
    """A name Cohost hands a vendor and records: at most MAX_NAME characters, no control characters."""
    if len(text) > MAX_NAME:
        raise ParseError(f"{what} is {len(text):,} characters long: give a name of at most {MAX_NAME}.")
    for char in text:
        kind = (
            "a control"
            if unicodedata.category(char) == "Cc"
            else "a direction-changing"
            if _BIDI_CONTROL.match(char)
            else None
        )
        if kind is not None:
            raise ParseError(f"{what} has {kind} character (U+{ord(char):04X}) in it: type the name without it.")
    return text


def mention_id(token: str) -> str | None:
    match = re.fullmatch(r"<@([UW][A-Z0-9]+)>", token)
    return match.group(1) if match else None


def whole_number(raw: str) -> int | None:
    """`raw` as an int; one of more digits than any bound is read as a number beyond it (not converted whole)."""
    match = re.fullmatch(r"\s*([+-]?)(\d+)\s*", raw)
    if match is None:
        return None
    sign, digits = match.groups()
    if len(digits) > 30:
        return -(10**30) if sign == "-" else 10**30
    return int(raw)


def no_stray_controls(text: str) -> None:
    """A ParseError where a command holds a control character no command needs anywhere."""
    stray = _STRAY_CONTROL.search(text)
    if stray is not None:
        raise ParseError(f"The command has a control character (U+{ord(stray.group()):04X}) in it: retype it.")
