"""The openai proposer against a real HTTP server on loopback: retries, failures as reasons, usage."""

from __future__ import annotations

from pathlib import Path

import pytest

from repro.proposers.base import ProposalContext
from repro.proposers.openai_chat import OpenAIProposer
from repro.proposers.prompts import extract_code
from repro.tasks import list_tasks
from tests.llm_server import LLMServer, code_answer

GOOD = (Path(__file__).parents[1] / "repro" / "gauntlet" / "kernels" / "good_triton.py").read_text()
KEY = "sk-test-SECRET-4f1c9e"


def ctx(attempt: int = 0) -> ProposalContext:
    task = list_tasks("smoke")[0]
    return ProposalContext(task=task, problem_source=task.path.read_text(), attempt=attempt, seed=0,
                           device="cpu", feedback="verdict: incorrect", strategy="tile_size")  # fmt: skip


def proposer(server: LLMServer, **kw) -> OpenAIProposer:
    opts = dict(timeout_s=5.0, max_retries=2, backoff_s=0.0)
    opts.update(kw)
    return OpenAIProposer("test-model", base_url=server.base_url, api_key=KEY, **opts)


def test_good_kernel_after_rate_limit_and_server_error():
    with LLMServer(["rate_limit", "server_error", code_answer(GOOD)]) as server:
        p = proposer(server).propose(ctx())
    assert p.source is not None and "class ModelNew" in p.source, p.reason
    assert p.usage["llm_calls"] == 3 and p.usage["retries"] == 2
    assert p.usage["prompt_tokens"] > 0 and p.usage["completion_tokens"] > 0
    sent = server.requests[-1]
    assert sent["body"]["model"] == "test-model"
    assert {k.lower(): v for k, v in sent["headers"].items()}["authorization"] == f"Bearer {KEY}"
    user = sent["body"]["messages"][-1]["content"]
    assert "class Model" in user and "verdict: incorrect" in user and "tile / block sizes" in user


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        (["prose"], "no ```python code block"),
        (["broken"], "does not parse"),
        (["malformed"], "gave up after 3 attempts"),
        (["rate_limit"], "RateLimitError (HTTP 429)"),
        (["server_error"], "InternalServerError (HTTP 500)"),
    ],
)
def test_failures_become_reasons(script, reason):
    with LLMServer(script) as server:
        p = proposer(server).propose(ctx())
    assert p.source is None
    assert reason in p.reason
    assert KEY not in p.reason


def test_slow_response_times_out_then_retries():
    with LLMServer(["slow", code_answer(GOOD)], slow_s=1.5) as server:
        p = proposer(server, timeout_s=0.5, max_retries=1).propose(ctx())
    assert p.source is not None, p.reason
    assert p.usage["retries"] == 1


def test_slow_response_gives_up_with_reason():
    with LLMServer(["slow"], slow_s=1.5) as server:
        p = proposer(server, timeout_s=0.4, max_retries=1).propose(ctx())
    assert p.source is None and "APITimeoutError" in p.reason


def test_client_error_is_not_retried():
    with LLMServer([code_answer(GOOD)]) as server:
        bad = OpenAIProposer(
            "m", base_url=server.base_url.replace("/v1", "/nope"), api_key=KEY, max_retries=3
        )
        p = bad.propose(ctx())
    assert p.source is None and "HTTP 404" in p.reason
    assert len(server.requests) == 1


def test_key_and_model_are_required(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ValueError, match="OPENAI_API_KEY"):
        OpenAIProposer("m")
    with pytest.raises(ValueError, match="--model"):
        OpenAIProposer("", api_key=KEY)


def test_extract_code_picks_the_block_with_modelnew():
    text = "```python\nimport torch\n```\nthen\n```python\nclass ModelNew:\n    pass\n```"
    src, reason = extract_code(text)
    assert src is not None and src.startswith("class ModelNew") and reason == ""
    assert extract_code("```python\nx = 1\n```")[1] == "no code block defines class ModelNew"
    assert extract_code("")[1] == "the response is empty"
