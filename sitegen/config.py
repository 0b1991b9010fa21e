"""Config stage: `sitegen.toml` plus command-line and environment overrides into a frozen Config."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sitegen.errors import ConfigError, Location
from sitegen.taxonomy import TagRule, parse_taxonomy

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

CONFIG_NAME = "sitegen.toml"
# Where `sitegen serve` listens unless told otherwise.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
BASE_URL_ENV = "SITEGEN_BASE_URL"


@dataclass(frozen=True)
class Config:
    """Every setting of a site, validated once; paths are absolute."""

    root: Path
    title: str = "Trending Papers"
    description: str = "Research papers from daily trending feeds."
    author: str = "sitegen"
    language: str = "en"
    base_url: str = "http://localhost:8000/"
    theme: str = "default"
    seeds_dir: Path = Path("seeds")
    content_dir: Path = Path("content")
    output_dir: Path = Path("_site")
    templates_dir: Path = Path("templates")
    taxonomy: Path | None = None
    year: int | None = None
    per_page: int = 20
    feed_limit: int = 50
    summary_chars: int = 280
    min_day_share: float = 0.2
    search: bool = True  # build the Pagefind index (off: no index, e.g. to compare with Hugo)
    tags: tuple[TagRule, ...] = ()  # `[tags.<slug>]` tables of sitegen.toml, over the taxonomy

    @property
    def base_path(self) -> str:
        """The path part of base_url, always starting and ending with `/`."""
        return urlsplit(self.base_url).path

    def relative(self, path: Path) -> str:
        """A project path as shown in messages and front matter: relative, POSIX separators."""
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()


_PATH_KEYS = {"seeds_dir", "content_dir", "output_dir", "templates_dir", "taxonomy"}
_TYPES: dict[str, type] = {
    "title": str,
    "description": str,
    "author": str,
    "language": str,
    "base_url": str,
    "theme": str,
    "year": int,
    "per_page": int,
    "feed_limit": int,
    "summary_chars": int,
    "min_day_share": float,
    "search": bool,
}


def normalise_base_url(url: str, where: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"base_url {url!r} is not an absolute http(s) URL",
            hint=f"set it in {where}, e.g. https://user.github.io/repo/",
        )
    if parts.query or parts.fragment:
        raise ConfigError(f"base_url {url!r} must not have a query or fragment")
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return f"{parts.scheme}://{parts.netloc}{path}"


def _validate(raw: dict[str, Any], source: str, root: Path) -> dict[str, Any]:
    known = {f.name for f in fields(Config)} - {"root"}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "tags":
            values[key] = parse_taxonomy({"tags": value}, source).rules
            continue
        if key not in known:
            raise ConfigError(
                f"unknown setting {key!r}",
                Location(source),
                "known: " + ", ".join(sorted(known)),
            )
        if key in _PATH_KEYS:
            if not isinstance(value, str) or not value:
                raise ConfigError(f"{key!r} must be a non-empty path string", Location(source))
            # Lexical, not resolve(): the write stage must see an output folder that is a
            # symbolic link as one, to refuse writing through it.
            values[key] = Path(os.path.abspath(root / value))
            continue
        expected = _TYPES[key]
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, expected) or (isinstance(value, bool) and expected is not bool):
            raise ConfigError(
                f"{key!r} must be {expected.__name__}, got {type(value).__name__}", Location(source)
            )
        values[key] = value
    for key in ("per_page", "feed_limit", "summary_chars"):
        if key in values and values[key] < 1:
            raise ConfigError(f"{key!r} must be at least 1", Location(source))
    if "min_day_share" in values and not 0 <= values["min_day_share"] <= 1:
        raise ConfigError("'min_day_share' must be between 0 and 1", Location(source))
    if "year" in values and not 1900 <= values["year"] <= 2200:
        raise ConfigError(f"'year' {values['year']} is out of range", Location(source))
    return values


def load_config(
    path: Path | None = None,
    *,
    root: Path | None = None,
    base_url: str | None = None,
    output_dir: Path | None = None,
    environ: dict[str, str] | None = None,
) -> Config:
    """Read the config file (optional when `path` is None), then apply env and CLI overrides."""
    env = os.environ if environ is None else environ
    if path is None:
        project = (root or Path.cwd()).resolve()
        candidate = project / CONFIG_NAME
        path = candidate if candidate.is_file() else None
    else:
        path = path.resolve()
        if not path.is_file():
            raise ConfigError(f"config file {path} not found", hint="check --config")
        project = path.parent
    raw: dict[str, Any] = {}
    source = CONFIG_NAME
    if path is not None:
        source = path.name
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"invalid TOML: {exc}", Location(source)) from None
        except UnicodeDecodeError:
            raise ConfigError("config file is not UTF-8", Location(source)) from None
    config = Config(root=project)
    config = replace(
        config,
        seeds_dir=project / config.seeds_dir,
        content_dir=project / config.content_dir,
        output_dir=project / config.output_dir,
        templates_dir=project / config.templates_dir,
    )
    config = replace(config, **_validate(raw, source, project))
    where = source
    url = config.base_url
    if env.get(BASE_URL_ENV):
        url, where = env[BASE_URL_ENV], f"${BASE_URL_ENV}"
    if base_url:
        url, where = base_url, "--base-url"
    config = replace(config, base_url=normalise_base_url(url, where))
    if output_dir is not None:
        config = replace(config, output_dir=Path(os.path.abspath(output_dir)))
    return config
