"""JSON Schema files generated from the models, one per topic, checked in under `topics/schemas/`.

Regenerate with `python -m topics.schemas`; a test fails when the files drift from the models.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Literal

from pydantic import create_model

from topics.catalogue import CATALOGUE
from topics.outputs import FollowupEvent

SCHEMA_DIR = Path(__file__).parent / "schemas"


def schema_for(topic: str) -> dict:
    spec = CATALOGUE[topic]
    model = spec.model
    assert model is not None
    if model is FollowupEvent:
        kind = topic.removeprefix("followups.").removesuffix(".v1")
        model = create_model(  # the same record shape, with `kind` fixed to this topic's kind
            f"Followup_{kind.replace('-', '_')}", __base__=FollowupEvent, kind=(Literal[kind], kind)  # type: ignore[valid-type]
        )
    schema = model.model_json_schema(mode="serialization")
    schema["$id"] = f"{topic}.json"
    schema["title"] = topic
    schema["description"] = spec.description
    schema["x-kafka-key"] = spec.key
    schema["x-direction"] = spec.direction
    return schema


def render(topic: str) -> str:
    return json.dumps(schema_for(topic), indent=2, sort_keys=True) + "\n"


def export(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for topic in CATALOGUE:
        path = directory / f"{topic}.json"
        path.write_text(render(topic))
        written.append(path)
    return written


if __name__ == "__main__":  # pragma: no cover
    for path in export(Path(sys.argv[1]) if len(sys.argv) > 1 else SCHEMA_DIR):
        print(path)
