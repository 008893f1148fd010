"""Reading the versioned rule tables under `service/domain/data/` (CSV via `csv`, TOML via `tomllib`).

Pure in the sense the domain needs: it reads files and nothing else. The tables ship inside the package; an operator
may point every reader at another directory once at start (`DENIALS_RULES_DIR`, applied by the CLI through
`use_rules_dir`), and `denials rules eval --rules DIR` evaluates edited tables before they are deployed."""

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
_rules_root: Path = PACKAGE_DATA


class RuleDataError(ValueError):
    """A rule table that cannot be read: names the file, the row and the column, never guesses."""


@dataclass(frozen=True, slots=True)
class RuleFiles:
    """The rule tables of one directory, named by the manifest."""

    root: Path = field(default_factory=lambda: _rules_root)
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
            if None in row:
                raise RuleDataError(f"{name} line {number}: wrong number of columns (more values than the header "
                                    f"names, after column {reader.fieldnames[-1]!r})")
            missing = next((column for column, value in row.items() if value is None), None)
            if missing is not None:
                raise RuleDataError(f"{name} line {number}: wrong number of columns (no value for column "
                                    f"{missing!r})")
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


def rules_root() -> Path:
    """The directory every rule reader uses when it is not given one: the packaged tables unless the process chose
    another at start."""
    return _rules_root


def use_rules_dir(path: Path | str | None) -> Path:
    """Point every rule reader at `path` (None: the packaged tables). Called once at start, before any table is read:
    the loaders cache by directory, so a process never mixes two sets. Raises `RuleDataError` naming the directory
    when it holds no manifest."""
    global _rules_root
    chosen = Path(path).expanduser() if path else PACKAGE_DATA
    if not (chosen / "manifest.toml").is_file():
        raise RuleDataError(f"{chosen}: not a rules directory (it has no manifest.toml); "
                            "copy service/domain/data/ and edit the copy")
    _rules_root = chosen
    return chosen


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
