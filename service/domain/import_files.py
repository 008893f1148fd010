"""What every import file's reader (fee schedules, the authorization register) says when a file cannot be used."""

from __future__ import annotations

from collections.abc import Sequence

MAX_PROBLEMS_SHOWN = 25


class ImportFileError(ValueError):
    """An import file that cannot be used as a whole; `problems` name the line and column of each."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        shown = list(problems[:MAX_PROBLEMS_SHOWN])
        more = len(problems) - len(shown)
        text = "\n".join(shown) + (f"\n... and {more} more problem(s)" if more > 0 else "")
        super().__init__(f"{source}: {len(problems)} problem(s), nothing imported\n{text}")
        self.source = source
        self.problems = tuple(problems)
