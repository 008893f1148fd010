"""Reading the versioned rule tables under `service/domain/data/` (CSV via `csv`, TOML via `tomllib`).

Pure in the sense the domain needs: it reads files that ship inside the package and nothing else. A directory other
than the packaged one can be given (tests prove a table change is a data change)."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PACKAGE_DATA = Path(__file__).with_name("data")


class RuleDataError(ValueError):
    """A rule table that cannot be read: names the file, the row and the column, never guesses."""


@dataclass(frozen=True, slots=True)
class RuleFiles:
    """The rule tables of one directory, named by the manifest."""

    root: Path = PACKAGE_DATA
    _texts: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def with_texts(self, texts: dict[str, str]) -> RuleFiles:
        """The same tables with some files' contents replaced in memory (a data change, without touching disk)."""
        return RuleFiles(self.root, {**self._texts, **texts})

    def manifest(self) -> dict[str, Any]:
        return tomllib.loads(self.text("manifest.toml"))

    def path_of(self, key: str) -> str:
        files = self.manifest().get("files", {})
        if key not in files:
            raise RuleDataError(f"manifest.toml: no file named for {key!r}")
        return files[key]

    def text(self, name: str) -> str:
        if name not in self._texts:
            path = self.root / name
            try:
                self._texts[name] = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise RuleDataError(f"{name}: cannot read ({exc.strerror})") from None
        return self._texts[name]

    def rows(self, key: str) -> list[dict[str, str]]:
        name = self.path_of(key)
        reader = csv.DictReader(io.StringIO(self.text(name)))
        rows = []
        for number, row in enumerate(reader, start=2):
            if None in row or any(value is None for value in row.values()):
                raise RuleDataError(f"{name} line {number}: wrong number of columns")
            rows.append({k.strip(): (v or "").strip() for k, v in row.items()} | {"_line": str(number)})
        return rows

    def toml(self, key: str) -> dict[str, Any]:
        name = self.path_of(key)
        try:
            return tomllib.loads(self.text(name))
        except tomllib.TOMLDecodeError as exc:
            raise RuleDataError(f"{name}: {exc}") from None

    def version(self) -> str:
        """`VERSION` from the manifest plus a digest of every table it names."""
        manifest = self.manifest()
        version = manifest.get("VERSION")
        if not isinstance(version, str) or not version:
            raise RuleDataError("manifest.toml: VERSION is missing")
        digest = hashlib.sha256(self.text("manifest.toml").encode())
        for name in sorted(manifest.get("files", {}).values()):
            digest.update(name.encode())
            digest.update(self.text(name).encode())
        return f"{version}+{digest.hexdigest()[:8]}"


def parse_date(value: str, *, where: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise RuleDataError(f"{where}: not an ISO date") from None


def parse_bool(value: str, *, where: str, default: bool | None = None) -> bool | None:
    if value == "":
        return default
    if value.lower() in ("true", "yes", "1"):
        return True
    if value.lower() in ("false", "no", "0"):
        return False
    raise RuleDataError(f"{where}: expected true or false")


def parse_float(value: str, *, where: str, default: float | None = None) -> float | None:
    if value == "":
        return default
    try:
        number = float(value)
    except ValueError:
        raise RuleDataError(f"{where}: not a number") from None
    if not 0.0 <= number <= 1.0:
        raise RuleDataError(f"{where}: must be between 0 and 1")
    return number
