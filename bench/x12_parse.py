"""X12 parse rate: our gateway (`service.x12.parse_bytes`: pyx12 walk + validation + records) against pyx12's own
walk of the same file (`X12ContextReader.iter_segments()`, nothing built), in the same run. Prints JSON.

    python bench/x12_parse.py                          # synthetic pain-management 835, 2400 claims
    python bench/x12_parse.py --file path/to/file.835  # any 835 / 277 file
    python bench/x12_parse.py --smoke                  # CI: one small run, no target check

Runs alternate (pyx12, ours, pyx12, ours, ...) after one warm-up of each, so both see the same machine load.
`overhead_pct` compares the medians, `overhead_pct_best_runs` the fastest runs (least disturbed by other load).
Target: overhead under 25 % (`within_target`, on the medians); the exit code is 0 either way (benchmarks report,
CI does not assert timings).
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pyx12.error_handler  # noqa: E402
import pyx12.params  # noqa: E402
from pyx12.x12context import X12ContextReader  # noqa: E402

from service.x12 import parse_bytes  # noqa: E402
from service.x12.synthetic import pain_management_remittance, render  # noqa: E402

TARGET_OVERHEAD_PCT = 25.0


def synthetic(claims: int) -> bytes:
    base = pain_management_remittance()
    sets = max(1, claims // len(base.claims))
    remits = []
    for n in range(sets):
        renamed = tuple(dataclasses.replace(c, claim_id=f"{c.claim_id}-{n}") for c in base.claims)
        remits.append(dataclasses.replace(base, claims=renamed, set_control_number=f"{n + 1:04d}",
                                          trace_number=f"EFT{n + 1:06d}"))
    return render(remits)


def pyx12_walk(text: str) -> int:
    reader = X12ContextReader(pyx12.params.params(), pyx12.error_handler.errh_null(), io.StringIO(text))
    return sum(1 for _ in reader.iter_segments())


def ours(data: bytes) -> int:
    result = parse_bytes(data, max_bytes=len(data) + 1)
    if result.rejected:
        raise SystemExit(f"the benchmark file is rejected: {result.file_error.reason}")
    return result.counts.claims + result.counts.status_records


def timed(fn, arg) -> float:
    start = time.perf_counter()
    fn(arg)
    return time.perf_counter() - start


def compare(data: bytes | None = None, *, claims: int = 2400, repeat: int = 5, label: str | None = None) -> dict:
    """Our parse rate and pyx12's own walk of the same bytes, alternated `repeat` times; medians and best runs."""
    data = data if data is not None else synthetic(claims)
    text = data.decode("utf-8")
    records = ours(data)  # warm-up (builds the map directory) and the record count
    segments = pyx12_walk(text)
    ours_times, walk_times = [], []
    for _ in range(repeat):
        walk_times.append(timed(pyx12_walk, text))
        ours_times.append(timed(ours, data))
    ours_s, walk_s = statistics.median(ours_times), statistics.median(walk_times)
    overhead = (ours_s / walk_s - 1) * 100
    overhead_best = (min(ours_times) / min(walk_times) - 1) * 100  # least disturbed by other load on the machine
    return {
        "x12_file": label or f"synthetic 835 ({claims} claims)",
        "x12_bytes": len(data), "x12_segments": segments, "x12_claims": records, "x12_repeat": repeat,
        "ours_claims_per_s": round(records / ours_s, 1), "pyx12_walk_claims_per_s": round(records / walk_s, 1),
        "overhead_pct": round(overhead, 1), "overhead_pct_best_runs": round(overhead_best, 1),
        "target_overhead_pct": TARGET_OVERHEAD_PCT, "within_target": overhead < TARGET_OVERHEAD_PCT,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, help="an 835 / 277 file (default: a synthetic 835)")
    parser.add_argument("--claims", type=int, default=2400, help="claims in the synthetic file")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each")
    parser.add_argument("--smoke", action="store_true", help="one small run (CI smoke)")
    args = parser.parse_args()
    if args.smoke:
        args.claims, args.repeat = 60, 1
    data = args.file.read_bytes() if args.file else None
    print(json.dumps(compare(data, claims=args.claims, repeat=args.repeat,
                             label=str(args.file) if args.file else None), indent=2))


if __name__ == "__main__":
    main()
