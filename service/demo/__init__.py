"""`denials demo`: a synthetic pain-clinic stream and the orchestration that runs it through the real pipeline.

- `clinic`: the practice the stream describes (payers, providers, chargemaster and fee schedule, diagnoses).
- `encounters`: patients and their care pathways, one visit per date of service (one claim each).
- `adjudication`: how each payer answers a claim (payments with cost share, denials, the practice's follow-ups).
- `stream`: dated contract records for every claim, validated, scheduled in waves that keep the run deterministic.
- `services`, `runner`, `summary`: the embedded services, the orchestration, and the summary read back.

The generator is pure (a seeded `random.Random`, dates from a fixed epoch, never today), so the same seed gives the
same stream content under any run id.
"""

from service.demo.stream import DemoStream, Outgoing, build_stream

__all__ = ["DemoStream", "Outgoing", "build_stream"]
