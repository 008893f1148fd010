"""The README's sample summary is what the demo it documents prints: the test runs the exact command the README shows
and finds every line of the sample in the output, in order (a `...` line stands for lines left out; the run id and
the elapsed time differ per run; runs of spaces count as one, so a column that widens does not break it). When the
demo's output changes on purpose, run the command and paste the new summary into the README."""

from __future__ import annotations

import re
from pathlib import Path

from tests.integration.test_demo import run_demo

README = Path(__file__).resolve().parents[2] / "README.md"
INTRO = re.compile(r"^`denials demo (?P<flags>[^`]*)` on a .*:$", re.M)


def readme_sample() -> tuple[list[str], list[str]]:
    """(the demo's flags, the sample's lines) from the README's tour of the summary."""
    text = README.read_text()
    match = INTRO.search(text)
    assert match, "README: no '`denials demo ...` on a ...:' line introducing the sample summary"
    block = re.search(r"```\n(.*?)```", text[match.end():], re.S)
    assert block, "README: no code block after the sample's introduction"
    return match.group("flags").split(), block.group(1).rstrip("\n").splitlines()


def _pattern(line: str) -> re.Pattern[str]:
    """A sample line as a pattern: literal text, any amount of space where it has spaces; in the header line the run
    id and the elapsed seconds are free."""
    tokens = line.split()
    header = line.startswith("denials demo run")
    parts = []
    for index, token in enumerate(tokens):
        if header and re.fullmatch(r"demo-[0-9a-f]{8}", token):
            parts.append(r"demo-[0-9a-f]{8}")
        elif header and index == len(tokens) - 2 and re.fullmatch(r"[0-9.]+", token):
            parts.append(r"[0-9.]+")
        else:
            parts.append(re.escape(token))
    return re.compile(r"^\s*" + r"\s+".join(parts) + r"\s*$")


def missing_lines(sample: list[str], output: list[str]) -> list[str]:
    """The sample lines not found in order in the output (a `...` line lets any lines pass)."""
    missing, at = [], 0
    for line in sample:
        if line.strip() in ("", "..."):
            continue
        pattern = _pattern(line)
        found = next((i for i in range(at, len(output)) if pattern.match(output[i])), None)
        if found is None:
            missing.append(line)
        else:
            at = found + 1
    return missing


def test_the_readme_sample_summary_is_what_its_demo_command_prints(tmp_path):
    flags, sample = readme_sample()
    assert "--no-serve" in flags, "the README's sample command must end on its own (--no-serve)"
    run = run_demo(tmp_path / "data", *flags, timeout_s=400)
    assert run.returncode == 0, run.stderr[-3000:]
    missing = missing_lines(sample, run.stdout.splitlines())
    assert not missing, ("README sample lines the demo no longer prints (paste the new summary into the README):\n"
                         + "\n".join(missing) + "\n--- the demo printed:\n" + run.stdout)


def test_the_sample_matcher_sees_a_changed_number_and_lets_ids_and_elapsed_pass():
    sample = ["denials demo run demo-5569ad26 · seed 21 · 500 claims of 157 patients · 19.8 s", "...",
              "  eligibility   21   $18,035.00   CO-31 ×11"]
    output = ["denials demo run demo-0a1b2c3d · seed 21 · 500 claims of 157 patients · 42.0 s",
              "Denials by cause", "  eligibility      21     $18,035.00    CO-31 ×11"]
    assert missing_lines(sample, output) == []
    assert missing_lines(sample, [output[0], "  eligibility 20 $18,035.00 CO-31 ×11"]) == [sample[2]]
