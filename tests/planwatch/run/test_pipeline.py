"""The pipeline's stage table: every stage of types.STAGES, in order, mapped to its function."""

from __future__ import annotations

from planwatch.build.candidate import build_candidate
from planwatch.core.types import STAGES
from planwatch.run import pipeline
from planwatch.serve.publish import publish


def test_every_stage_has_its_function_in_pipeline_order() -> None:
    assert tuple(pipeline.STAGE_FUNCTIONS) == STAGES
    assert pipeline.STAGE_FUNCTIONS["dbt_build"] is build_candidate
    assert pipeline.STAGE_FUNCTIONS["publish"] is publish
    assert {f.__module__.split(".")[1] for f in pipeline.STAGE_FUNCTIONS.values()} == {
        "ingest", "quality", "build", "serve"}
