"""Command grammar: each family is a table of subcommands, and the parser, the usage lines and `help` all read
that one table, so they cannot drift apart.

Grammar (DESIGN.md): subcommand, positional arguments, then `--option value` or `--flag`. Quoted values are one
value. Slack sends text escaped (`should_escape: true`): mentions `<@U1|ann>`, channels `<#C1|x>`, links
`<https://a|label>`, e-mail `<mailto:a@b|a@b>`, and `&amp; &lt; &gt;`; all are unwrapped here.

The bounds of DESIGN.md ("Bounded input") are types of this grammar (a name, a URL, a number with a maximum), so
every command is held to them before any vendor call, and the usage lines still come from the one table.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from handlers.core.addresses import invalid_host, private_reason
from handlers.core.blocks import Mrkdwn, code

OptionKind = Literal["text", "int", "flag", "choice", "list", "pair", "name", "url"]
PositionalKind = Literal["text", "when", "users", "name", "url"]
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
#: Slack clients may turn `--` into a dash ("smart dashes"); an option typed that way still counts.
_DASH_OPTION = re.compile(r"^(?:--|—|–)(?=[a-z])")
_WHEN_FIRST = re.compile(r"^(today|tomorrow|in|\d{4}-\d{2}-\d{2})$", re.IGNORECASE)


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


@dataclass(frozen=True)
class Option:
    name: str
    kind: OptionKind = "text"
    metavar: str = ""
    choices: tuple[str, ...] = ()
    repeat: bool = False
    minimum: int | None = None
    maximum: int | None = None
    required: bool = False

    def usage(self) -> str:
        if self.kind == "flag":
            return f"[--{self.name}]"
        shown = "|".join(self.choices) if self.kind == "choice" else (self.metavar or self.name.upper())
        core = f"--{self.name} {shown}{' ...' if self.repeat else ''}"
        return core if self.required else f"[{core}]"

    def convert(self, raw: str, rules: InputRules) -> Any:
        if self.kind == "int":
            number = _whole_number(raw)
            if number is None:
                raise ParseError(f"--{self.name} takes a whole number, not `{raw[:40]}`.")
            if self.minimum is not None and number < self.minimum:
                raise ParseError(f"--{self.name} must be at least {self.minimum}.")
            if self.maximum is not None and number > self.maximum:
                raise ParseError(f"--{self.name} must be at most {self.maximum}.")
            return number
        if self.kind == "name":
            return person_name(raw, f"--{self.name}")
        if self.kind == "url":
            return web_url(raw, rules, f"--{self.name}")
        if self.kind == "choice":
            if raw.lower() not in self.choices:
                raise ParseError(f"--{self.name} is one of {', '.join(self.choices)}, not `{raw}`.")
            return raw.lower()
        if self.kind == "list":
            items = [item.strip() for item in raw.split(",") if item.strip()]
            if not items:
                raise ParseError(f"--{self.name} needs at least one value.")
            return items
        if self.kind == "pair":
            key, sep, value = raw.partition("=")
            if not sep or not key:
                raise ParseError(f"--{self.name} takes KEY=VALUE, not `{raw}`.")
            return (key, value)
        return raw


#: The options every family shares: a name for what it starts, and how long it lasts.
NAME = Option("name", "name", metavar="TEXT")
MINUTES = Option("minutes", "int", metavar="N", minimum=1, maximum=MAX_MINUTES)


@dataclass(frozen=True)
class Positional:
    name: str
    required: bool = True
    variadic: bool = False
    #: `when` takes one or two tokens (`tomorrow 09:30`, `in 2h`, `2026-11-23 15:00`, `15:00`); `users` takes
    #: every mention wherever it stands (`/meeting new Standup @ann @bob`), as user ids; `name` and `url` are
    #: held to the bounds of their kind.
    kind: PositionalKind = "text"

    def convert(self, raw: str, rules: InputRules) -> str:
        if self.kind == "name":
            return person_name(raw, self.name)
        if self.kind == "url":
            return web_url(raw, rules, self.name)
        return raw

    def usage(self) -> str:
        core = f"{self.name} ..." if self.variadic else self.name
        return core if self.required else f"[{core}]"


@dataclass
class Parsed:
    sub: Subcommand
    args: dict[str, Any]
    opts: dict[str, Any]

    def arg(self, name: str) -> Any:
        return self.args.get(name)

    def opt(self, name: str, default: Any = None) -> Any:
        return self.opts.get(name, default)

    async def run(self, ix: Any) -> None:
        await self.sub.handler(ix, self)


Handler = Callable[..., Awaitable[None]]


@dataclass(frozen=True)
class Subcommand:
    words: tuple[str, ...]
    positionals: tuple[Positional, ...]
    options: tuple[Option, ...]
    summary: str
    handler: Handler
    command: str

    @property
    def name(self) -> str:
        return " ".join(self.words)

    def usage(self) -> str:
        parts = [self.command, *self.words, *(p.usage() for p in self.positionals), *(o.usage() for o in self.options)]
        return " ".join(parts)

    def parse(self, tokens: list[str], rules: InputRules) -> Parsed:
        by_name = {option.name: option for option in self.options}
        args: dict[str, Any] = {}
        opts: dict[str, Any] = {}
        loose: list[str] = []
        index = 0
        while index < len(tokens):
            token = tokens[index]
            if _DASH_OPTION.match(token):
                name, _, inline = _DASH_OPTION.sub("", token).partition("=")
                option = by_name.get(name.lower())
                if option is None:
                    raise ParseError(f"`{self.name}` has no option --{name}.", self.usage())
                if option.kind == "flag":
                    opts[option.name] = True
                    index += 1
                    continue
                if inline:
                    raw = inline
                    index += 1
                elif index + 1 < len(tokens):
                    raw = tokens[index + 1]
                    index += 2
                else:
                    raise ParseError(f"--{option.name} needs a value.", self.usage())
                value = _with_usage(option.convert, raw, rules, self.usage())
                if option.repeat:
                    opts.setdefault(option.name, []).append(value)
                elif option.name in opts:
                    raise ParseError(f"--{option.name} is given twice.", self.usage())
                else:
                    opts[option.name] = value
            else:
                loose.append(token)
                index += 1
        self._bind(loose, args, rules)
        for option in self.options:
            if option.required and option.name not in opts:
                raise ParseError(f"`{self.name}` needs --{option.name}.", self.usage())
        return Parsed(self, args, opts)

    def _bind(self, loose: list[str], args: dict[str, Any], rules: InputRules) -> None:
        rest = list(loose)
        for position in self.positionals:
            if position.kind == "users":
                args[position.name] = [user for token in rest if (user := mention_id(token))]
                rest = [token for token in rest if mention_id(token) is None]
                if position.required and not args[position.name]:
                    raise ParseError(f"`{self.name}` needs {position.name}: mention someone.", self.usage())
        for position in self.positionals:
            if position.kind == "users":
                continue
            if position.variadic:
                args[position.name] = [_with_usage(position.convert, raw, rules, self.usage()) for raw in rest]
                rest = []
            elif rest:
                take = 2 if position.kind == "when" and len(rest) > 1 and _WHEN_FIRST.match(rest[0]) else 1
                raw = " ".join(rest[:take])
                args[position.name] = _with_usage(position.convert, raw, rules, self.usage())
                rest = rest[take:]
            elif position.required:
                raise ParseError(f"`{self.name}` needs {position.name}.", self.usage())
        if rest:
            raise ParseError(f"Unexpected `{' '.join(rest)}`.", self.usage())


def _whole_number(raw: str) -> int | None:
    """`raw` as an int; one of more digits than any bound is read as a number beyond it (not converted whole)."""
    match = re.fullmatch(r"\s*([+-]?)(\d+)\s*", raw)
    if match is None:
        return None
    sign, digits = match.groups()
    if len(digits) > 30:
        return -(10**30) if sign == "-" else 10**30
    return int(raw)


#: Positionals whose name says their kind (`WHEN`, `URL`, `NAME`; `@user` for mentions).
_KINDS_BY_NAME: dict[str, PositionalKind] = {"WHEN": "when", "URL": "url", "NAME": "name"}


def _kind_of(name: str) -> PositionalKind:
    return "users" if name.startswith("@") else _KINDS_BY_NAME.get(name, "text")


def _with_usage(convert: Callable[[str, InputRules], Any], raw: str, rules: InputRules, usage: str) -> Any:
    try:
        return convert(raw, rules)
    except ParseError as exc:
        raise ParseError(exc.message, usage) from None


@dataclass
class Family:
    """One slash command's table of subcommands, filled by the `@family.sub(...)` decorator."""

    command: str
    title: str
    subcommands: list[Subcommand] = field(default_factory=list)

    def sub(self, spec: str, *options: Option, summary: str) -> Callable[[Handler], Handler]:
        """`spec`: the usage's words and positionals (`"invite ROOM"`, `"new [URL ...]"`, `"schedule WHEN [URL]"`)."""
        words: list[str] = []
        positionals: list[Positional] = []
        for part in re.findall(r"\[[^\]]+\]|\S+", spec):
            optional = part.startswith("[")
            core = part.strip("[]")
            if core.isalpha() and core.islower() and not optional and not positionals:
                words.append(core)
                continue
            variadic = core.endswith("...")
            name = core.removesuffix("...").strip()
            positionals.append(Positional(name, not optional, variadic, _kind_of(name)))

        def register(handler: Handler) -> Handler:
            self.subcommands.append(
                Subcommand(tuple(words), tuple(positionals), tuple(options), summary, handler, self.command)
            )
            return handler

        return register

    def parse(self, text: str, rules: InputRules = STRICT) -> Parsed | None:
        """The parsed command, or None when the person asked for help (or typed nothing)."""
        text = unescape(text)
        stray = _STRAY_CONTROL.search(text)
        if stray is not None:
            raise ParseError(f"The command has a control character (U+{ord(stray.group()):04X}) in it: retype it.")
        tokens = tokenize(text)
        if not tokens or tokens[0].lower() in ("help", "-h", "--help"):
            return None
        # Longest match first: `reseller create` before a one-word subcommand, a catch-all (`/upload URL`) last.
        for sub in sorted(self.subcommands, key=lambda s: -len(s.words)):
            if not sub.words:
                self._check_group(tokens[0])
            if [t.lower() for t in tokens[: len(sub.words)]] == list(sub.words):
                return sub.parse(tokens[len(sub.words) :], rules)
        self._check_group(tokens[0])
        raise ParseError(f"`{tokens[0]}` is not a {self.command} subcommand.", None)

    def _check_group(self, word: str) -> None:
        """A group's first word with an unknown second (`digest foo`): the group's forms, not the whole help."""
        group = [sub for sub in self.subcommands if len(sub.words) > 1 and sub.words[0] == word.lower()]
        if group:
            forms = "\n".join(f"• `{sub.usage()}`" for sub in group)
            raise ParseError(f"`{self.command} {word}` is one of:\n{forms}", None)

    def help_text(self) -> Mrkdwn:
        lines = [Mrkdwn("*{}* — {}").format(self.command, self.title)]
        lines += [Mrkdwn("• {}\n    {}").format(code(sub.usage()), Mrkdwn(sub.summary)) for sub in self.subcommands]
        return Mrkdwn("\n").join(lines)

    def find(self, name: str) -> Subcommand:
        return next(sub for sub in self.subcommands if sub.name == name)
