"""LLM proposer: chat completions on any OpenAI-compatible endpoint (hosted APIs, vLLM, SGLang, Ollama).

Endpoint and key come from OPENAI_BASE_URL / OPENAI_API_KEY unless given explicitly. Rate limits (429,
honouring Retry-After), server errors (5xx), timeouts, dropped connections and malformed bodies are
retried with exponential backoff; when retries run out, or the answer holds no usable code, the result
is a failed proposal with its reason, never an exception. The key lives only in the client object: it
is never put in a proposal, a log or an error message. The `openai` package is imported here only, so
the rest of `repro` runs without it (it is not installed on the GPU machines).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from repro.proposers.base import Proposal, ProposalContext
from repro.proposers.prompts import build_messages, extract_code

MAX_RETRY_AFTER_S = 60.0


class OpenAIProposer:
    name = "openai"

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout_s: float = 300.0,
        max_retries: int = 5,
        backoff_s: float = 2.0,
        temperature: float | None = None,
        max_tokens: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        try:
            import openai
        except ImportError:
            raise ValueError(
                "--proposer openai needs the openai package: pip install 'kernelatlas[llm]'"
            ) from None
        if not model:
            raise ValueError("--proposer openai needs --model (the model name the endpoint serves)")
        base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
        api_key = api_key or os.environ.get("OPENAI_API_KEY")
        if not api_key:
            if not base_url:
                raise ValueError(
                    "set OPENAI_API_KEY (or OPENAI_BASE_URL for a local server that needs no key)"
                )
            api_key = "unused"  # local servers accept any key; the client requires one
        self._openai = openai
        self._client = openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=0)
        self.model = model
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.options: dict[str, Any] = {}
        if temperature is not None:
            self.options["temperature"] = temperature
        if max_tokens is not None:
            self.options["max_tokens"] = max_tokens
        self.sleep = sleep

    def _retry_delay(self, exc: Exception, attempt: int) -> float:
        response = getattr(exc, "response", None)
        header = response.headers.get("retry-after") if response is not None else None
        try:
            if header is not None:
                return min(max(float(header), 0.0), MAX_RETRY_AFTER_S)
        except ValueError:
            pass
        return self.backoff_s * 2**attempt

    def _transient(self, exc: Exception) -> bool:
        o = self._openai
        if isinstance(
            exc, o.RateLimitError | o.APITimeoutError | o.APIConnectionError | o.APIResponseValidationError
        ):
            return True
        if isinstance(exc, o.APIStatusError):
            return exc.status_code >= 500
        return isinstance(exc, ValueError)  # a body that is not JSON

    def chat(self, messages: list[dict[str, str]]) -> tuple[str | None, dict[str, int], str]:
        """(text, usage, error): one completion, retried on transient failures."""
        usage = {"llm_calls": 0, "retries": 0, "prompt_tokens": 0, "completion_tokens": 0}
        for attempt in range(self.max_retries + 1):
            usage["llm_calls"] += 1
            try:
                resp = self._client.chat.completions.create(
                    model=self.model,
                    messages=messages,  # type: ignore[arg-type]  # plain role/content dicts
                    **self.options,
                )
                text = resp.choices[0].message.content
            except Exception as exc:
                if not isinstance(exc, self._openai.OpenAIError | ValueError):
                    raise
                why = _describe(exc)
                if not self._transient(exc):
                    return None, usage, f"the endpoint refused the request: {why}"
                if attempt == self.max_retries:
                    return None, usage, f"gave up after {attempt + 1} attempts: {why}"
                usage["retries"] += 1
                self.sleep(self._retry_delay(exc, attempt))
                continue
            if resp.usage is not None:
                usage["prompt_tokens"] += resp.usage.prompt_tokens or 0
                usage["completion_tokens"] += resp.usage.completion_tokens or 0
            return text, usage, ""
        raise AssertionError("unreachable")

    def propose(self, ctx: ProposalContext) -> Proposal:
        messages = build_messages(ctx)
        text, usage, error = self.chat(messages)
        if error:
            return Proposal(None, "llm", reason=error, messages=messages, usage=usage)
        source, reason = extract_code(text)
        return Proposal(source, "llm", reason=reason, response=text, messages=messages, usage=usage)


def _describe(exc: Exception) -> str:
    status = getattr(exc, "status_code", None)
    kind = type(exc).__name__
    return f"{kind} (HTTP {status})" if status else kind
