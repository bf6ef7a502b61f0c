"""The short self-check a chat model takes the first time it would write memories.

With the real SmolLM2-135M-Instruct: it gets most probes wrong, so besides its
size it is labelled for failing the check; the result is kept beside the model,
so `engram models list` and Settings show it without loading the model again.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from core.models.trust import (
    PROBES, TOO_SMALL, SelfCheck, model_trust, run_self_check, stored_self_check,
    trust_after_check,
)


@dataclass
class Scripted:
    """Answers the probes from a table (pure logic of the scoring only)."""

    path: Path
    answers: dict[str, str]

    def complete(self, messages: Any, options: Any = None, **kwargs: Any) -> Any:
        question = messages[-1]["content"]

        @dataclass
        class Done:
            text: str

        return Done(next(a for q, a in self.answers.items() if q in question))


def test_the_self_check_counts_answers_that_hold_what_the_sentence_says(tmp_path: Path) -> None:
    right = {"Which city": "Porto.", "Which instrument": "The **cello**",
             "which date": "9 March 2025", "name of Tom's cat": "Not stated."}
    wrong = {"Which city": "Lisbon", "Which instrument": "piano",
             "which date": "yesterday", "name of Tom's cat": "Whiskers"}
    assert run_self_check(Scripted(tmp_path, right)) == SelfCheck(len(PROBES), len(PROBES))
    assert run_self_check(Scripted(tmp_path, wrong)) == SelfCheck(0, len(PROBES))
    assert SelfCheck(4, 4).ok and not SelfCheck(3, 4).ok


@pytest.mark.timeout(600)
def test_smollm2_fails_the_self_check_and_the_result_is_kept(tmp_path: Path, smollm2: Path
                                                              ) -> None:
    from core.models.runtime import ChatRuntime

    model = tmp_path / smollm2.name  # the check is kept beside the model: not in site-packages
    shutil.copyfile(smollm2, model)
    assert stored_self_check(model) is None and model_trust(model).self_check is None
    runtime = ChatRuntime(model, n_ctx=1024, n_threads=1, idle_unload_seconds=None)
    try:
        trust = trust_after_check(runtime)
    finally:
        runtime.close()
    assert trust.self_check is not None and not trust.self_check.ok
    assert not trust.trusted and trust.label == TOO_SMALL
    assert "135M parameters" in trust.reason and "self-check answers right" in trust.reason
    # Kept: judged again without loading the model (a runtime that cannot answer is not asked).
    assert stored_self_check(model) == trust.self_check
    again = trust_after_check(Scripted(model, {}))
    assert again == trust
    assert model_trust(model).to_json()["self_check"]["total"] == len(PROBES)


def test_settings_and_models_list_say_why(tmp_path: Path, smollm2: Path) -> None:
    from app.views.settings_models import gui_status
    from core.models.catalog import ModelRow
    from core.models.trust import store_self_check

    model = tmp_path / smollm2.name
    shutil.copyfile(smollm2, model)
    store_self_check(model, SelfCheck(1, len(PROBES)))
    row = ModelRow(name="smollm2", role="chat", title="SmolLM2 135M", size_bytes=None,
                   license=None, installed=True, in_use=True, recommended=False,
                   source="file", path=str(model))
    status = gui_status("", [row])
    assert TOO_SMALL in status and f"1 of {len(PROBES)} self-check answers right" in status
    assert row.as_dict()["trust_reason"].startswith("135M parameters")
