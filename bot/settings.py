"""The configuration contract: environment variables (or a `.env` file), read once at start-up."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.vendors import VendorConfig


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line that names the variable."""


#: A setting whose name holds one of these is a credential: its value is never shown, and it must be exact.
_CREDENTIAL_WORDS = ("SECRET", "TOKEN", "KEY", "PASSWORD")


def is_credential(name: str) -> bool:
    return any(word in name for word in _CREDENTIAL_WORDS)


def _check_url(name: str, value: str) -> str:
    if value and not value.startswith(("http://", "https://")):
        raise ValueError(f"{name} must be an http(s) URL")
    return value


class Settings(BaseSettings):
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

    MIRRORTAB_API_KEY: str = ""
    MIRRORTAB_URL: str = "https://api.mirrortab.com"
    SAMESURF_API_KEY: str = ""
    SAMESURF_API_SECRET: str = ""
    SAMESURF_URL: str = "https://api.samesurf.com"
    SAMESURF_JWT_ALG: Literal["HS256", "HS384", "HS512", "none"] = "HS256"
    MIROTALK_URL: str = ""
    MIROTALK_API_SECRET: str = ""
    MIROTALK_HOST_USERNAME: str = ""
    MIROTALK_HOST_PASSWORD: str = ""
    COVIU_API_KEY: str = ""
    COVIU_API_SECRET: str = ""
    COVIU_URL: str = "https://api.coviu.com/v1"
    MIRRORACE_API_KEY: str = ""
    MIRRORACE_API_TOKEN: str = ""
    MIRRORACE_URL: str = "https://mirrorace.com/api/v1"

    COBROWSE_PROVIDER: Literal["", "mirrortab", "samesurf"] = ""
    MEETING_PROVIDER: Literal["", "mirotalk", "coviu"] = ""
    COHOST_ALLOW_PRIVATE_URLS: bool = False

    @field_validator(
        "SLACK_API_URL",
        "SLACK_AUTHORIZE_URL",
        "MIRRORTAB_URL",
        "SAMESURF_URL",
        "MIROTALK_URL",
        "COVIU_URL",
        "MIRRORACE_URL",
    )
    @classmethod
    def _urls(cls, value: str, info: object) -> str:
        return _check_url(getattr(info, "field_name", "URL"), value.strip())

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
            timeout_s=self.VENDOR_TIMEOUT_S,
            mirrortab_api_key=self.MIRRORTAB_API_KEY,
            mirrortab_url=self.MIRRORTAB_URL,
            samesurf_api_key=self.SAMESURF_API_KEY,
            samesurf_api_secret=self.SAMESURF_API_SECRET,
            samesurf_url=self.SAMESURF_URL,
            samesurf_jwt_alg=self.SAMESURF_JWT_ALG,
            mirotalk_url=self.MIROTALK_URL,
            mirotalk_api_secret=self.MIROTALK_API_SECRET,
            mirotalk_host_username=self.MIROTALK_HOST_USERNAME,
            mirotalk_host_password=self.MIROTALK_HOST_PASSWORD,
            coviu_api_key=self.COVIU_API_KEY,
            coviu_api_secret=self.COVIU_API_SECRET,
            coviu_url=self.COVIU_URL,
            mirrorace_api_key=self.MIRRORACE_API_KEY,
            mirrorace_api_token=self.MIRRORACE_API_TOKEN,
            mirrorace_url=self.MIRRORACE_URL,
            cobrowse_provider=self.COBROWSE_PROVIDER,
            meeting_provider=self.MEETING_PROVIDER,
            allow_private_urls=self.COHOST_ALLOW_PRIVATE_URLS,
        )

    def check_mode(self) -> None:
        """The Slack credentials a mode needs, named when one is missing."""
        mode = self.slack_mode
        if mode == "oauth":
            self._check_oauth()
        elif bool(self.SLACK_CLIENT_ID) != bool(self.SLACK_CLIENT_SECRET):
            names = ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET")
            given, missing = names if self.SLACK_CLIENT_ID else names[::-1]
            raise SettingsError(f"{missing} is required with {given} (OAuth install into any number of workspaces)")
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

    def _check_vendors(self) -> None:
        if bool(self.MIROTALK_HOST_USERNAME) != bool(self.MIROTALK_HOST_PASSWORD):
            names = ("MIROTALK_HOST_USERNAME", "MIROTALK_HOST_PASSWORD")
            given, missing = names if self.MIROTALK_HOST_USERNAME else names[::-1]
            raise SettingsError(f"{missing} is required with {given} (the MiroTalk host user's sign-in)")
        for variable, provider, enabled in (
            ("COBROWSE_PROVIDER", self.COBROWSE_PROVIDER, self.vendors.enabled("cobrowse")),
            ("MEETING_PROVIDER", self.MEETING_PROVIDER, self.vendors.enabled("meeting")),
        ):
            if provider and provider not in enabled:
                raise SettingsError(f"{variable} is {provider}, but that vendor has no credentials set")


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
