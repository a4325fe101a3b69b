"""`audit --retime`: another reading of a ledger row in fresh processes, kept beside the earlier ones; the
row follows its median reading, records the spread, and shows a verdict that differs between readings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_run import repro_in_process

from repro.published import policies as P
from repro.published.audit import add_reading, combine_readings
from repro.records import published_ledger as L
from repro.runners.gauntlet import kernel_source

KERNELS = Path(__file__).parents[1] / "repro" / "gauntlet" / "kernels"
CLAIM = {"metric": "speedup", "value": 2.0}


def row(speedup: float | None, verdict: str = "correct", date: str = "2026-01-01T00:00:00Z",
        reason: str = "all outputs match") -> dict:  # fmt: skip
    """A row as `Auditor.judge` writes it, with one policy."""
    rec = {"verdict": verdict, "reason": reason, "speedup": speedup if verdict == "correct" else None,
           "candidate_ms": 0.05 if speedup else None, "baseline_ms": 0.05 * speedup if speedup else None,
           "status": P.status(verdict, reason, speedup, CLAIM["value"])}  # fmt: skip
    return {"task": "level2/4", "claim": CLAIM, "policies": {"kernelbench": rec},
            "provenance": {"date": date, "git": {"commit": "c" * 40}, "settings_hash": "h"}}  # fmt: skip


def test_a_second_reading_is_kept_beside_the_first_and_the_row_follows_the_lower_median() -> None:
    first = row(2.51)
    second = add_reading(first, row(0.32, date="2026-01-02T00:00:00Z"))
    p = second["policies"]["kernelbench"]
    assert [(r["speedup"], r["run"], r["date"]) for r in p["readings"]] == [
        (2.51, 1, "2026-01-01T00:00:00Z"),
        (0.32, 2, "2026-01-02T00:00:00Z"),
    ]
    # two readings: the slower of the two is carried, with its own times, and the claim is judged on it
    assert p["speedup"] == 0.32 and p["candidate_ms"] == 0.05 and p["baseline_ms"] == pytest.approx(0.016)
    assert p["status"] == P.STATUS_SLOWER and p["spread"] == pytest.approx(2.51 / 0.32, rel=1e-3)
    assert "verdict_readings" not in p
    assert L.readings_note(p) == "0.32–2.51×, 2 readings"
    # a third reading: the median of three, reproduced against the 2.0x claim
    third = add_reading(second, row(2.2, date="2026-01-03T00:00:00Z"))["policies"]["kernelbench"]
    assert [r["speedup"] for r in third["readings"]] == [2.51, 0.32, 2.2]
    assert third["speedup"] == 2.2 and third["status"] == P.STATUS_REPRODUCED
    assert L.readings_note(third) == "0.32–2.51×, 3 readings"
    assert L.readings_note(first["policies"]["kernelbench"]) is None  # one reading: nothing to show
    # a policy judged in the earlier run only keeps its record
    both = row(1.5)
    both["policies"]["strict"] = {"verdict": "rejected", "reason": "called aten::mm", "speedup": None}
    assert add_reading(both, row(1.6))["policies"]["strict"] == both["policies"]["strict"]


def test_a_verdict_that_differs_between_readings_is_kept_not_averaged() -> None:
    impossible = "physically impossible time: a median of 0.001 ms is faster than writing its output once"
    refused = add_reading(row(2.51), row(None, verdict="rejected", reason=impossible))
    p = refused["policies"]["kernelbench"]
    assert p["verdict"] == "rejected" and p["speedup"] is None and p["reason"] == impossible
    assert p["status"] == "refused: physically impossible time"
    assert p["verdict_readings"] == {"correct": 1, "rejected": 1} and "spread" not in p
    assert L.readings_note(p) == "2 readings, accepted in 1 of 2"
    # accepted again afterwards: the refusal still decides the row
    again = add_reading(refused, row(2.4))["policies"]["kernelbench"]
    assert again["verdict"] == "rejected" and again["readings"][1]["reason"] == impossible
    assert again["verdict_readings"] == {"correct": 2, "rejected": 1} and again["spread"] == pytest.approx(
        2.51 / 2.4, rel=1e-3
    )
    # two kinds of refusal: counted as well; the latest decides
    wrong = add_reading(refused, row(None, verdict="incorrect", reason="max abs error 3"))["policies"][
        "kernelbench"
    ]
    assert (wrong["verdict"], wrong["status"]) == ("incorrect", P.STATUS_INCORRECT)
    assert wrong["verdict_readings"] == {"correct": 1, "rejected": 1, "incorrect": 1}
    # the ledger's summary counts rows read more than once and rows whose verdicts differ
    led = L.new_ledger({}, {"kernelbench": {}}, {}, "h")
    L.upsert(led, refused)
    L.upsert(led, {**add_reading(row(1.0), row(1.1)), "task": "level1/1"})
    s = L.summary(led)["policies"]["kernelbench"]
    assert (s["retimed"], s["verdicts_differ"], s["accepted"]) == (2, 1, 1)
    header, line = L.to_csv(led).splitlines()[:2]
    cols = dict(zip(header.split(","), line.split(","), strict=False))
    assert (cols["kernelbench_readings"], cols["kernelbench_status"]) == (
        "2",
        "refused: physically impossible time",
    )


def test_combine_readings_documents_the_status_rule_for_all_accepted() -> None:
    rec: dict = {}
    readings = [
        {"verdict": "correct", "speedup": s, "candidate_ms": 1 / s, "baseline_ms": 1.0}
        for s in (1.9, 1.5, 1.7)
    ]
    combine_readings(rec, readings, CLAIM)
    assert (rec["speedup"], rec["status"]) == (1.7, P.STATUS_SLOWER)  # 1.7 < 0.9 * 2.0
    combine_readings(rec, readings + [{"verdict": "correct", "speedup": 1.95}], CLAIM)
    assert (rec["speedup"], rec["status"]) == (1.7, P.STATUS_SLOWER)  # even count: the lower middle


@pytest.mark.parametrize(
    ("mutate", "words"),
    [
        (lambda p: p.update(readings=[]), r"policies.kernelbench.readings must be a non-empty list"),
        (lambda p: p.update(readings=[{"speedup": 1.0}]), r"policies\.kernelbench\.readings\[0\] must be an object with a text `verdict`"),
        (lambda p: p.update(readings=[{"verdict": "correct", "speedup": "fast"}]),
         r"policies\.kernelbench\.readings\[0\]\.speedup must be a number or null"),
        (lambda p: p.update(other_baselines=[1.0]), r"policies\.kernelbench\.other_baselines must be an object"),
        (lambda p: p.update(other_baselines={"cuda-graph": {"ms": None, "speedup": 1.0}}),
         r'policies\.kernelbench\.other_baselines\.cuda-graph must be \{"ms": number, "speedup": number or null\}'),
        (lambda p: p.update(other_baselines={"cuda-graph": {"ms": 1.0, "speedup": True}}),
         r"policies\.kernelbench\.other_baselines\.cuda-graph must be"),
    ],
)  # fmt: skip
def test_a_malformed_reading_is_named(tmp_path: Path, mutate, words: str) -> None:
    led = L.new_ledger({}, {"kernelbench": {}}, {}, "h")
    r = row(1.0)
    mutate(r["policies"]["kernelbench"])
    led["rows"].append(r)
    path = tmp_path / "l.json"
    path.write_text(json.dumps(led))
    with pytest.raises(L.LedgerError, match=r"l\.json: rows\[0\] \(level2/4\): " + words):
        L.load(path)


SETTINGS = ("--device", "cpu", "--trials", "2", "--timing-iters", "6", "--warmup", "1", "--baselines", "eager",
            "--max-timing-s", "2", "--timeout", "90")  # fmt: skip


def test_retime_through_the_command_appends_a_reading_and_refuses_what_it_cannot_compare(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KERNELATLAS_CACHE", str(tmp_path / "cache"))
    kernel = tmp_path / "k" / "good_triton.py"
    kernel.parent.mkdir()
    kernel.write_text(kernel_source("good_triton.py"))
    lines = [{"task": "t/good", "problem_path": str(KERNELS / "problem_scale_add.py"), "kernel_path": str(kernel),
              "claim": {"value": 1000.0}}, {"task": "t/none", "problem": "x = 1\n", "kernel": None}]  # fmt: skip
    rel = tmp_path / "rel.jsonl"
    rel.write_text("\n".join(json.dumps(x) for x in lines))
    out = tmp_path / "ledger.json"

    def audit(*args: str) -> tuple[int, str, str]:
        r = repro_in_process(capsys, "audit", "--format", "jsonl", "--release", str(rel), "--out", str(out),
                             "--work", str(tmp_path / "work"), "--policies", "kernelbench", *args)  # fmt: skip
        return r.returncode, r.stdout, r.stderr

    # --retime before any audit, and beside the other modes: refused with the reason, exit 2
    status, _, err = audit("--retime", *SETTINGS)
    assert status == 2 and "--retime needs --out to be an existing ledger file" in err
    for other in ("--force", "--only-missing", "--rederive"):
        status, _, err = audit("--retime", other, *SETTINGS)
        assert status == 2 and f"argument {other}: not allowed with argument --retime" in err, err

    status, _, err = audit(*SETTINGS)
    assert status == 0, err
    first = {r["task"]: r for r in L.load(out)["rows"]}["t/good"]["policies"]["kernelbench"]
    assert first["verdict"] == "correct" and "readings" not in first

    status, stdout, err = audit("--retime", "--tasks", "t/good,t/none", *SETTINGS)
    assert status == 0, err
    assert "t/none not timed again: nothing measured to time again (not_released)" in err
    assert "'judged': 1" in stdout
    led = L.load(out)
    p = {r["task"]: r for r in led["rows"]}["t/good"]["policies"]["kernelbench"]
    assert len(p["readings"]) == 2 and p["readings"][0] == {
        "speedup": first["speedup"], "candidate_ms": first["candidate_ms"], "baseline_ms": first["baseline_ms"],
        "verdict": "correct", "date": p["readings"][0]["date"], "commit": p["readings"][0]["commit"], "run": 1,
    }  # fmt: skip
    assert p["speedup"] == min(r["speedup"] for r in p["readings"]) and p["spread"] >= 1.0
    assert led["summary"]["policies"]["kernelbench"]["retimed"] == 1
    assert "kernelbench: 1 row(s) read more than once (--retime), 0 with verdicts that differ" in stdout

    # other settings than the row's: its readings could not be compared; nothing is measured
    status, _, err = audit("--retime", *SETTINGS, "--warmup", "2")
    assert status == 2 and "1 row(s) were measured with other settings (t/good)" in err
    kept = {r["task"]: r for r in L.load(out)["rows"]}["t/good"]["policies"]["kernelbench"]
    assert len(kept["readings"]) == 2
