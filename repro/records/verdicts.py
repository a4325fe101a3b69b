"""The one vocabulary of outcomes, shared by the harness, the loops, the backends, feedback, export,
the reproduction files and the site's reader.

`Verdict` says what became of one candidate: the harness returns one of `HARNESS_VERDICTS`; the loops
and the `run` command add the outcomes that never reach the harness. `Status` says what became of one
unit of a reproduction (a task's baselines, solution or loop). Both are `StrEnum`s, so a record holds
the plain string ("correct") and compares equal to it; files written before the enums load unchanged.
"""

from __future__ import annotations

from enum import StrEnum

from repro.records.schema import FormatError


class Verdict(StrEnum):
    CORRECT = "correct"
    INCORRECT = "incorrect"  # ran, but the outputs differ from the reference
    REJECTED = "rejected"  # refused by a check (reference ops called, tampering, inputs mutated, ...)
    COMPILE_ERROR = "compile_error"
    RUNTIME_ERROR = "runtime_error"
    TIMEOUT = "timeout"
    CRASH = "crash"  # the candidate's process died
    NO_CANDIDATE = "no_candidate"  # the proposer returned no code (loops)
    TESTER_REJECTED = "tester_rejected"  # the multi-agent tester refused it before evaluation (loops)
    NOT_RUN = "not_run"  # the run stopped before this task (`run`)


HARNESS_VERDICTS: tuple[Verdict, ...] = (
    Verdict.CORRECT,
    Verdict.INCORRECT,
    Verdict.REJECTED,
    Verdict.COMPILE_ERROR,
    Verdict.RUNTIME_ERROR,
    Verdict.TIMEOUT,
    Verdict.CRASH,
)
# Outcomes whose error text is the feedback (the "compiler" channel): nothing correct to compare.
FAILED: frozenset[Verdict] = frozenset(
    {
        Verdict.COMPILE_ERROR,
        Verdict.RUNTIME_ERROR,
        Verdict.CRASH,
        Verdict.TIMEOUT,
        Verdict.NO_CANDIDATE,
        Verdict.REJECTED,
        Verdict.TESTER_REJECTED,
    }
)
# Outcomes of candidates that never compiled (the `compiled` signal of exported RL rewards).
NOT_COMPILED: frozenset[Verdict] = frozenset(
    {Verdict.COMPILE_ERROR, Verdict.NO_CANDIDATE, Verdict.TESTER_REJECTED}
)


class Status(StrEnum):
    """What became of one unit of a reproduction."""

    MEASURED = "measured"
    NO_SOLUTION = "no_solution"  # no hand-written solution for the task
    FAILED = "failed"  # the harness could not evaluate, or the loop evaluated nothing
    NOT_RUN = "not_run"  # not measured yet


def verdict_of(value: object, where: str) -> Verdict:
    """`value` as a Verdict, or a FormatError (a ValueError) naming `where` and the known verdicts."""
    try:
        if not isinstance(value, str):
            raise ValueError
        return Verdict(value)
    except ValueError:
        raise FormatError(
            f"{where}: unknown verdict {value!r} (known: {', '.join(v.value for v in Verdict)})"
        ) from None


def status_of(value: object, where: str) -> Status:
    """`value` as a Status, or a FormatError (a ValueError) naming `where` and the known statuses."""
    try:
        if not isinstance(value, str):
            raise ValueError
        return Status(value)
    except ValueError:
        raise FormatError(
            f"{where}: unknown status {value!r} (known: {', '.join(s.value for s in Status)})"
        ) from None
