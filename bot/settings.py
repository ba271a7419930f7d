"""The configuration contract: environment variables (or a `.env` file), read once at start-up.

Cohost's own variables are declared here; each vendor's come from its entry in the vendor registry
(`services.registry`: names, defaults, the values they may take, which of them is an address), as does the variable
that names each family's default vendor. So adding a vendor does not touch this module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, cast

from pydantic import Field, ValidationError, ValidationInfo, create_model, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services import registry
from services.registry import is_credential as is_credential  # the settings' rule, where the settings are
from services.vendors import VendorConfig


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line that names the variable."""


#: The settings that are http(s) URLs: Slack's, and every vendor's address.
URL_SETTINGS = frozenset(
    {"SLACK_API_URL", "SLACK_AUTHORIZE_URL", *(s.name for s in registry.vendor_settings() if s.address)}
)


def _check_url(name: str, value: str) -> str:
    if value and not value.startswith(("http://", "https://")):
        raise ValueError(f"{name} must be an http(s) URL")
    return value


class CohostSettings(BaseSettings):
    """Cohost's own variables; `Settings` adds every vendor's."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=True)

    SLACK_BOT_TOKEN: str = ""
    SLACK_SIGNING_SECRET: str = ""
    SLACK_APP_TOKEN: str = ""
    SLACK_API_URL: str = "https://slack.com/api/"
    SLACK_CLIENT_ID: str = ""
    SLACK_CLIENT_SECRET: str = ""
    SLACK_AUTHORIZE_URL: str = "https://slack.com/oauth/v2/authorize"
    COHOST_SECRET_KEY: str = ""
    PORT: int = Field(default=3000, ge=0, le=65535)
    DATABASE_URL: str = "sqlite+aiosqlite:///cohost.db"
    COHOST_ADMINS: str = ""
    EXPIRY_WARNING_MINUTES: int = Field(default=5, ge=0)
    VENDOR_TIMEOUT_S: float = Field(default=15.0, gt=0)

    COHOST_ALLOW_PRIVATE_URLS: bool = False

    @field_validator("*")
    @classmethod
    def _urls(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, str) and info.field_name in URL_SETTINGS:
            return _check_url(info.field_name, value.strip())
        return value

    @field_validator("*")
    @classmethod
    def _credentials_exact(cls, value: object, info: ValidationInfo) -> object:
        """A credential of blanks would sign requests with a space; one with blanks around it is a paste gone
        wrong that fails later, far from its cause. Empty means not set. By name, so a credential added later is
        covered too."""
        if isinstance(value, str) and value != value.strip() and is_credential(info.field_name or ""):
            if not value.strip():
                raise ValueError("is only whitespace; set it, or leave it empty when it is not used")
            raise ValueError("has whitespace around it; remove the whitespace")
        return value

    @field_validator("DATABASE_URL")
    @classmethod
    def _database_url(cls, value: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            make_url(value)
        except ArgumentError as exc:
            raise ValueError("DATABASE_URL is not an SQLAlchemy URL") from exc
        return value

    @property
    def admins(self) -> frozenset[str]:
        return frozenset(part.strip() for part in self.COHOST_ADMINS.split(",") if part.strip())

    @property
    def slack_mode(self) -> Literal["socket", "http", "oauth", "offline"]:
        """`oauth`: any number of workspaces install Cohost (each with its own token in the store); `http` and
        `socket`: the one workspace of `SLACK_BOT_TOKEN`; `offline`: no Slack at all."""
        if self.SLACK_CLIENT_ID and self.SLACK_CLIENT_SECRET:
            return "oauth"
        if self.SLACK_APP_TOKEN:
            return "socket"
        if self.SLACK_BOT_TOKEN:
            return "http"
        return "offline"

    @property
    def vendors(self) -> VendorConfig:
        return VendorConfig(
            values={setting.name: str(getattr(self, setting.name)) for setting in registry.vendor_settings()},
            providers={f.key: str(getattr(self, f.provider)) for f in registry.FAMILIES.values() if f.provider},
            timeout_s=self.VENDOR_TIMEOUT_S,
            allow_private_urls=self.COHOST_ALLOW_PRIVATE_URLS,
        )

    def check_mode(self) -> None:
        """The Slack credentials a mode needs, named when one is missing."""
        mode = self.slack_mode
        if mode == "oauth":
            self._check_oauth()
        else:
            self._check_pair("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "OAuth install into any number of workspaces")
        if mode == "socket" and not self.SLACK_BOT_TOKEN:
            raise SettingsError("SLACK_BOT_TOKEN is required with SLACK_APP_TOKEN (Socket Mode)")
        if mode == "socket" and not self.SLACK_APP_TOKEN.startswith("xapp-"):
            raise SettingsError("SLACK_APP_TOKEN must be an app-level token starting with xapp-")
        if mode == "http" and not self.SLACK_SIGNING_SECRET:
            raise SettingsError("SLACK_SIGNING_SECRET is required in HTTP mode (SLACK_BOT_TOKEN is set)")
        if mode in ("socket", "http") and not self.SLACK_BOT_TOKEN.startswith("xoxb-"):
            raise SettingsError("SLACK_BOT_TOKEN must be a bot token starting with xoxb-")
        self._check_vendors()

    def _check_oauth(self) -> None:
        """OAuth mode: requests are signed, tokens come from installs (not from SLACK_BOT_TOKEN) and are kept
        encrypted with a well-formed COHOST_SECRET_KEY."""
        from services.installations import SecretKeyError, TokenCipher

        with_oauth = "with SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (OAuth install into any number of workspaces)"
        if not self.SLACK_SIGNING_SECRET:
            raise SettingsError(f"SLACK_SIGNING_SECRET is required {with_oauth}")
        if self.SLACK_BOT_TOKEN:
            raise SettingsError(f"SLACK_BOT_TOKEN serves one workspace: leave it unset {with_oauth}")
        if self.SLACK_APP_TOKEN:
            raise SettingsError(f"SLACK_APP_TOKEN (Socket Mode) serves one workspace: leave it unset {with_oauth}")
        if not self.COHOST_SECRET_KEY:
            raise SettingsError(
                f"COHOST_SECRET_KEY is required {with_oauth}: it encrypts their tokens in the store (make one with "
                "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`)"
            )
        try:
            TokenCipher(self.COHOST_SECRET_KEY)
        except SecretKeyError as exc:
            raise SettingsError(f"COHOST_SECRET_KEY {exc}") from None

    def _check_pair(self, first: str, second: str, what: str) -> None:
        """Two settings that go together: one set without the other is named."""
        if bool(getattr(self, first)) != bool(getattr(self, second)):
            given, missing = (first, second) if getattr(self, first) else (second, first)
            raise SettingsError(f"{missing} is required with {given} ({what})")

    def _check_vendors(self) -> None:
        for entry in registry.VENDORS.values():
            for first, second, what in entry.pairs:
                self._check_pair(first, second, what)
        for family in registry.FAMILIES.values():
            provider = getattr(self, family.provider) if family.provider else ""
            if provider and provider not in self.vendors.enabled(family.key):
                raise SettingsError(f"{family.provider} is {provider}, but that vendor has no credentials set")


def _vendor_fields() -> dict[str, Any]:
    """Each vendor's variables as the registry declares them, and each family's default-vendor variable (empty,
    or one of the family's vendors)."""
    choice = cast(Any, Literal)
    fields: dict[str, Any] = {
        s.name: (choice[s.choices] if s.choices else str, s.default) for s in registry.vendor_settings()
    }
    for family in registry.FAMILIES.values():
        if family.provider:
            fields[family.provider] = (choice[("", *(v.key for v in registry.family_vendors(family.key)))], "")
    return fields


if TYPE_CHECKING:
    Settings = CohostSettings
else:
    Settings = create_model("Settings", __base__=CohostSettings, __module__=__name__, **_vendor_fields())


def load_settings(**overrides: object) -> Settings:
    """Reads the settings; any problem becomes a SettingsError of one line naming the variable."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(part) for part in first["loc"]) or "settings"
        value = first.get("input")
        shown = "" if value is None or is_credential(name) else f" (got {value!r})"
        reason = first["msg"].removeprefix("Value error, ")
        raise SettingsError(f"{name}: {reason}{shown}") from None
    settings.check_mode()
    return settings
