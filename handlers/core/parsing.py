"""Command grammar: each family is a table of subcommands, and the parser, the usage lines and `help` all read
that one table, so they cannot drift apart.

Grammar (DESIGN.md): subcommand, positional arguments, then `--option value` or `--flag`. Quoted values are one
value. Each subcommand declares its arguments as a typed model (a frozen dataclass whose fields say their part of
the grammar: `arg(...)` for a positional, `opt(...)` for an option); the parser fills it, so what a handler reads
is checked by mypy, and the usage line is made from the same fields. The bounds of DESIGN.md ("Bounded input")
are kinds of this grammar (a name, a URL, a number with a maximum), so every command is held to them before any
vendor call.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from handlers.core.blocks import Mrkdwn, code
from handlers.core.bounds import (
    MAX_MINUTES,
    STRICT,
    InputRules,
    ParseError,
    mention_id,
    no_stray_controls,
    person_name,
    tokenize,
    unescape,
    web_url,
    whole_number,
)

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

    from handlers.core.interaction import Interaction

OptionKind = Literal["text", "int", "flag", "choice", "list", "pair", "name", "url"]
PositionalKind = Literal["text", "when", "users", "name", "url"]
#: Slack clients may turn `--` into a dash ("smart dashes"); an option typed that way still counts.
_DASH_OPTION = re.compile(r"^(?:--|—|–)(?=[a-z])")
_WHEN_FIRST = re.compile(r"^(today|tomorrow|in|\d{4}-\d{2}-\d{2})$", re.IGNORECASE)
#: Where a model's field keeps its part of the grammar.
_GRAMMAR = "grammar"

#: A subcommand's typed model of its arguments: a dataclass whose fields say their part of the grammar.
A = TypeVar("A", bound="DataclassInstance")
#: What a subcommand does with the arguments its model holds.
Handler = Callable[["Interaction", A], Awaitable[None]]


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

    def convert(self, raw: str, rules: InputRules) -> object:
        if self.kind == "int":
            number = whole_number(raw)
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
TZ = Option("tz", metavar="ZONE")


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


#: Positionals whose name says their kind (`WHEN`, `URL`, `NAME`; `@user` for mentions).
_KINDS_BY_NAME: dict[str, PositionalKind] = {"WHEN": "when", "URL": "url", "NAME": "name"}


def arg(name: str, *, optional: bool = False, variadic: bool = False) -> Any:
    """A positional field of a subcommand's model: `arg("ROOM")`, `arg("URL", optional=True, variadic=True)`.
    Its kind comes from its name (`WHEN`, `URL`, `NAME`, `@user`: mentions); a list where it takes several."""
    kind: PositionalKind = "users" if name.startswith("@") else _KINDS_BY_NAME.get(name, "text")
    spec = Positional(name, not optional, variadic, kind)
    if variadic or kind == "users":
        return field(default_factory=list, metadata={_GRAMMAR: spec})
    return field(default=None if optional else "", metadata={_GRAMMAR: spec})


def opt(spec: Option, default: object = None) -> Any:
    """An option field of a subcommand's model: `opt(NAME)`, `opt(Option("uses", "int"), default=1)`. A flag is
    False unless given; a repeatable option a list of what was given."""
    if spec.kind == "flag":
        return field(default=False, metadata={_GRAMMAR: spec})
    if spec.repeat or isinstance(default, list):
        start = list(default) if isinstance(default, list) else []
        return field(default_factory=lambda: list(start), metadata={_GRAMMAR: spec})
    return field(default=default, metadata={_GRAMMAR: spec})


@dataclass(frozen=True)
class NoArgs:
    """The model of a subcommand that takes nothing."""


@dataclass
class Parsed(Generic[A]):
    sub: Subcommand[A]
    args: A

    async def run(self, ix: Interaction) -> None:
        await self.sub.handler(ix, self.args)


@dataclass(frozen=True)
class Subcommand(Generic[A]):
    words: tuple[str, ...]
    model: type[A]
    summary: str
    handler: Handler[A]
    command: str

    @property
    def name(self) -> str:
        return " ".join(self.words)

    # Read from the model once: every command is parsed by them.
    @cached_property
    def _fields(self) -> list[tuple[str, Positional | Option]]:
        return [(f.name, f.metadata[_GRAMMAR]) for f in dataclasses.fields(self.model)]

    @cached_property
    def positionals(self) -> list[tuple[str, Positional]]:
        return [(name, spec) for name, spec in self._fields if isinstance(spec, Positional)]

    @cached_property
    def options(self) -> list[tuple[str, Option]]:
        return [(name, spec) for name, spec in self._fields if isinstance(spec, Option)]

    def usage(self) -> str:
        parts = [self.command, *self.words]
        parts += [p.usage() for _, p in self.positionals] + [o.usage() for _, o in self.options]
        return " ".join(parts)

    def parse(self, tokens: list[str], rules: InputRules) -> Parsed[A]:
        by_name = {option.name: (attr, option) for attr, option in self.options}
        values: dict[str, Any] = {}
        loose: list[str] = []
        index = 0
        while index < len(tokens):
            token = tokens[index]
            if not _DASH_OPTION.match(token):
                loose.append(token)
                index += 1
                continue
            name, _, inline = _DASH_OPTION.sub("", token).partition("=")
            if name.lower() not in by_name:
                raise ParseError(f"`{self.name}` has no option --{name}.", self.usage())
            attr, option = by_name[name.lower()]
            if option.kind == "flag":
                values[attr] = True
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
            value = self._convert(option.convert, raw, rules)
            if option.repeat:
                values.setdefault(attr, []).append(value)
            elif attr in values:
                raise ParseError(f"--{option.name} is given twice.", self.usage())
            else:
                values[attr] = value
        self._bind(loose, values, rules)
        for attr, option in self.options:
            if option.required and attr not in values:
                raise ParseError(f"`{self.name}` needs --{option.name}.", self.usage())
        return Parsed(self, self.model(**values))

    def _convert(self, convert: Callable[[str, InputRules], object], raw: str, rules: InputRules) -> object:
        """A value converted, or the conversion's complaint with this subcommand's usage line."""
        try:
            return convert(raw, rules)
        except ParseError as exc:
            raise ParseError(exc.message, self.usage()) from None

    def _bind(self, loose: list[str], values: dict[str, Any], rules: InputRules) -> None:
        rest = list(loose)
        for attr, position in self.positionals:
            if position.kind == "users":
                values[attr] = [user for token in rest if (user := mention_id(token))]
                rest = [token for token in rest if mention_id(token) is None]
                if position.required and not values[attr]:
                    raise ParseError(f"`{self.name}` needs {position.name}: mention someone.", self.usage())
        for attr, position in self.positionals:
            if position.kind == "users":
                continue
            if position.variadic:
                values[attr] = [self._convert(position.convert, raw, rules) for raw in rest]
                rest = []
            elif rest:
                take = 2 if position.kind == "when" and len(rest) > 1 and _WHEN_FIRST.match(rest[0]) else 1
                values[attr] = self._convert(position.convert, " ".join(rest[:take]), rules)
                rest = rest[take:]
            elif position.required:
                raise ParseError(f"`{self.name}` needs {position.name}.", self.usage())
        if rest:
            raise ParseError(f"Unexpected `{' '.join(rest)}`.", self.usage())


@dataclass
class Family:
    """One slash command's table of subcommands, filled by the `@family.sub(...)` decorator."""

    command: str
    title: str
    subcommands: list[Subcommand[Any]] = field(default_factory=list)

    def sub(self, words: str, model: type[A], *, summary: str | None = None) -> Callable[[Handler[A]], Handler[A]]:
        """`words`: the subcommand's words (`"invite"`, `"reseller create"`; none for a catch-all); `model`: the
        typed model of its arguments, whose fields (`arg`, `opt`) make the rest of its grammar. Its line in `help`
        is the handler's docstring (as click's and Typer's commands), or `summary` where the text is made at run
        time (the digest subcommands name their family)."""
        for f in dataclasses.fields(model):
            if not isinstance(f.metadata.get(_GRAMMAR), Positional | Option):
                raise TypeError(f"{model.__name__}.{f.name} says no part of the grammar: declare it with arg or opt")

        def register(handler: Handler[A]) -> Handler[A]:
            said = summary or " ".join((inspect.getdoc(handler) or "").split())
            if not said:
                raise TypeError(f"{handler.__name__} says nothing for help: give it a docstring")
            self.subcommands.append(Subcommand(tuple(words.split()), model, said, handler, self.command))
            return handler

        return register

    def parse(self, text: str, rules: InputRules = STRICT) -> Parsed[Any] | None:
        """The parsed command, or None when the person asked for help (or typed nothing)."""
        text = unescape(text)
        no_stray_controls(text)
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

    def find(self, name: str) -> Subcommand[Any]:
        return next(sub for sub in self.subcommands if sub.name == name)
