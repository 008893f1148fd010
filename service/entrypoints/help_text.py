"""Help text that reads naturally: `FILE...`, `--claims N`, no `<bool>` beside a flag, no braces in usage lines.

Typer 0.2x renders every parameter's Python type in angle brackets (`<bool>`, `<str>`, `<list[Path]>`) and wraps
required arguments in braces in the usage line (`{FILE...}...`). Click's own convention, which the rest of the
command-line world follows, is an uppercase metavar (`FILE`, `PATH`, `N`) and nothing for a flag. Typer offers no
setting for it, so this module replaces the three methods that produce those strings, once, when the CLI is built.
They are Typer internals: `tests/unit/cli/test_help_text.py` pins them to the installed Typer and fails loudly when
a Typer release moves them, so the help never silently falls back to the raw form.
"""

from __future__ import annotations

from typing import Any

from typer import core

# Python type name (as Typer labels it) -> the metavar a reader expects.
_TYPE_WORDS = {"str": "TEXT", "int": "N", "float": "NUMBER", "Path": "PATH", "path": "PATH", "bool": "",
               "datetime": "DATE", "date": "DATE"}


def _word(param: Any, ctx: Any) -> str:
    label = core._TyperParameter.display_type(param, ctx).strip("<>")
    if label.startswith("list[") and label.endswith("]"):
        label = label[5:-1]
    if label.endswith(" range"):  # min/max already say the range in the help text
        label = label.removesuffix(" range")
    if "|" in label:  # choices: click's own [a|b] convention
        return f"[{label}]"
    return _TYPE_WORDS.get(label, label.upper())


def _option_type(self: Any, ctx: Any) -> str | None:
    if self.is_flag:
        return None
    word = self.metavar if self.metavar is not None else _word(self, ctx)
    if not word:
        return None
    return word + ("..." if self.nargs != 1 and self.metavar is None else "")


def _argument_name(self: Any) -> str:
    name = (self.metavar or self.name or "").upper()
    return name + ("..." if self.nargs != 1 and not name.endswith("...") else "")


def _argument_type(self: Any, ctx: Any) -> str | None:
    # The argument's name column already says what it is (FILE, CORPUS): no second word beside it.
    return None


def _usage_name(self: Any) -> str:
    name = (self.metavar or self.name or "").upper()
    if self.nargs != 1 and not name.endswith("..."):
        name += "..."
    return name if self.required else f"[{name}]"


_installed = False


def install() -> None:
    """Replace Typer's help renderings (idempotent)."""
    global _installed
    if _installed:
        return
    core.TyperOption.display_type_rich = _option_type  # type: ignore[method-assign]
    core.TyperArgument.display_type_rich = _argument_type  # type: ignore[method-assign]
    core.TyperArgument._usage_display_name = _usage_name  # type: ignore[method-assign]
    core.TyperArgument._rich_display_name = _argument_name  # type: ignore[method-assign]
    _installed = True
