"""Error and warning types that carry a location a person can act on."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """Where in which input file a problem is; line and offset are 1-based, 0 if unknown."""

    file: str
    line: int = 0
    offset: int = 0

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}"
        if self.offset:
            return f"{self.file} (byte {self.offset})"
        return self.file


class SitegenError(Exception):
    """A failure the user can fix; the CLI prints it as one line and exits non-zero."""

    exit_code = 1

    def __init__(self, message: str, location: Location | None = None, hint: str = "") -> None:
        self.message = message
        self.location = location
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        hint = f" ({self.hint})" if self.hint else ""
        return f"{where}{self.message}{hint}"


class ParseError(SitegenError):
    """An input feed or content page that cannot be read."""


class ConfigError(SitegenError):
    """A bad sitegen.toml or command-line option."""

    exit_code = 2


@dataclass(frozen=True)
class BuildWarning:
    """Something the build survived but a person should look at; fatal under --strict."""

    message: str
    location: Location | None = None

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        return f"{where}warning: {self.message}"
