"""Every kind of bad entry yields one message naming the file, line, field and fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ALPHA, BENCH, TODAY, replace_line, write_entry

import site_gen.kb.check as check_module
from site_gen.cli import main
from site_gen.kb.check import check_knowledge_base
from site_gen.kb.paths import REPO_ROOT


def problems_for(root: Path) -> list[str]:
    return [str(p) for p in check_knowledge_base(root, today=TODAY).problems]


def test_valid_knowledge_base_has_no_problems(kb_root: Path) -> None:
    report = check_knowledge_base(kb_root, today=TODAY)
    assert report.problems == []
    assert sorted(e.id for e in report.entries) == ["alpha", "bench"]


@pytest.mark.parametrize(
    ("line", "new", "expected"),
    [
        (
            3,
            "authors: [Ada Lovelace",
            "papers/alpha.yaml:4: YAML syntax error: while parsing a flow sequence",
        ),
        (6, None, "papers/alpha.yaml:1: kind: required field is missing (add `kind:`"),
        (3, "author: [Ada Lovelace]", "papers/alpha.yaml:3: author: unknown field (did you mean 'authors'?)"),
        (7, "taxonomy: iterative-refinement", "papers/alpha.yaml:7: taxonomy: must be a list"),
        (
            7,
            "taxonomy: [iterative-refinment]",
            "papers/alpha.yaml:7: taxonomy[0]: unknown category 'iterative-refinment' (did you mean 'iterative-refinement'?)",
        ),
        (
            10,
            "languages: [rocm]",
            "papers/alpha.yaml:10: languages[0]: unknown languages term 'rocm' ('rocm' is an alias: write 'hip')",
        ),
        (
            11,
            "techniques: [profilng-feedback]",
            "papers/alpha.yaml:11: techniques[0]: unknown techniques term 'profilng-feedback' (did you mean 'profiling-feedback'?)",
        ),
        (6, "kind: paper", "papers/alpha.yaml:6: kind: unknown kinds term 'paper'"),
        (4, 'date: "2025-02-30"', "papers/alpha.yaml:4: date: 2025-02-30 is not a real date"),
        (4, 'date: "2027-01"', "papers/alpha.yaml:4: date: 2027-01 is in the future (today is 2026-11-21)"),
        (
            4,
            "date: March 2025",
            "papers/alpha.yaml:4: date: 'March 2025' is not a valid date (write YYYY-MM or YYYY-MM-DD",
        ),
        (
            9,
            "  paper: arxiv.org/abs/2502.10517",
            "papers/alpha.yaml:9: links.paper: 'arxiv.org/abs/2502.10517' is not an http(s) URL",
        ),
        (
            9,
            "  paper: ftp://example.org/x.pdf",
            "papers/alpha.yaml:9: links.paper: 'ftp://example.org/x.pdf' is not an http(s) URL",
        ),
        (
            1,
            "id: beta",
            "papers/alpha.yaml:1: id: id 'beta' does not match the file name alpha.yaml (set `id: alpha` or rename the file to beta.yaml)",
        ),
        (
            4,
            'date: "2025-04-01"',
            "papers/alpha.yaml:5: arxiv: arXiv id 2502.10517 was issued in 2025-02, before the date 2025-04-01",
        ),
        (
            5,
            "arxiv: 2502.10510",
            'papers/alpha.yaml:5: arxiv: 2502.10510 is read as a number, not text (quote it: arxiv: "2502.10510")',
        ),
        (
            5,
            'arxiv: "2502.10517v2"',
            "papers/alpha.yaml:5: arxiv: '2502.10517v2' is not a valid arxiv (drop the version suffix: 2502.10517)",
        ),
        (
            15,
            "  - benchmark: nobench",
            "papers/alpha.yaml:15: results[0].benchmark: no entry with id 'nobench'",
        ),
        (
            12,
            "benchmarks: [benchh]",
            "papers/alpha.yaml:12: benchmarks[0]: no entry with id 'benchh' (did you mean 'bench'?)",
        ),
        (18, None, "papers/alpha.yaml:17: results[0].aggregate: fast_p needs its speedup threshold p"),
        (
            17,
            "    aggregate: fastp",
            "papers/alpha.yaml:17: results[0].aggregate: unknown aggregates term 'fastp' (did you mean 'fast_p'?)",
        ),
        (
            20,
            "    baseline: torch.compile",
            "papers/alpha.yaml:20: results[0].baseline: unknown baselines term 'torch.compile' (did you mean 'compile-default'",
        ),
        (24, None, "papers/alpha.yaml:15: results[0].source: required field is missing"),
        (19, "    value: forty", "papers/alpha.yaml:19: results[0].value: 'forty' is text, not a number"),
        (
            3,
            "venue: arXiv",
            "papers/alpha.yaml:3: venue: 'arXiv' is not a venue: preprints have none (delete the `venue:` line",
        ),
        (
            13,
            "summary: Too short.",
            "papers/alpha.yaml:13: summary: String should have at least 40 characters",
        ),
    ],
)
def test_bad_entry_is_reported_with_line_and_fix(
    kb_root: Path, line: int, new: str | None, expected: str
) -> None:
    write_entry(kb_root, "alpha", replace_line(ALPHA, line, new))
    problems = problems_for(kb_root)
    assert any(p.startswith(expected) for p in problems), problems


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ("  tasks: 0", "papers/bench.yaml:12: benchmark.tasks: Input should be greater than or equal to 1"),
        ("  tasks: many", "papers/bench.yaml:12: benchmark.tasks: Input should be a valid integer"),
        (
            "  baselines: [pytorch-eager]",
            "papers/bench.yaml:12: benchmark.baselines[0]: unknown baselines term 'pytorch-eager' (did you mean 'eager' or 'eager-tf32'?)",
        ),
        (
            "  anti-cheating: [fresh inputs]",
            "papers/bench.yaml:12: benchmark.anti-cheating: unknown field (did you mean 'anti_cheating'?)",
        ),
        ("  anti_cheating: fresh inputs", "papers/bench.yaml:12: benchmark.anti_cheating: must be a list"),
        (
            "  subsets:\n    l1: {name: Level 1, tasks: 10, descripton: One op each.}",
            "papers/bench.yaml:13: benchmark.subsets.l1.descripton: unknown field (did you mean 'description'?)",
        ),
        (
            "  subsets:\n    l1: {name: Level 1, description: One op, of ten.}",
            "papers/bench.yaml:13: benchmark.subsets.l1.of ten.: unknown field (a comma inside {...} ends the "
            "value before it, so 'of ten.' became a field of its own: put the text in quotes",
        ),
    ],
)
def test_bad_benchmark_block_is_reported_with_line_and_fix(kb_root: Path, block: str, expected: str) -> None:
    write_entry(kb_root, "bench", BENCH + "benchmark:\n" + block + "\n")
    problems = problems_for(kb_root)
    assert any(p.startswith(expected) for p in problems), problems


def test_benchmark_block_is_valid_on_benchmarks_only(kb_root: Path) -> None:
    block = "benchmark:\n  tasks: 250\n  correctness: allclose over 5 random inputs\n  baselines: [eager]\n"
    write_entry(kb_root, "bench", BENCH + block)
    assert problems_for(kb_root) == []
    write_entry(kb_root, "alpha", ALPHA + block)
    assert problems_for(kb_root) == [
        "papers/alpha.yaml:25: benchmark: a benchmark block belongs to benchmark entries only (set `kind: benchmark`, "
        "add `benchmarks` to taxonomy, or move the block to the benchmark's entry "
        "(a method's own task set may keep it when the method's results name it))"
    ]


def test_unquoted_timestamp_dates_are_accepted(kb_root: Path) -> None:
    write_entry(kb_root, "alpha", replace_line(ALPHA, 4, "date: 2025-02-14") + "added: 2026-11-01\n")
    assert problems_for(kb_root) == []


def test_bibtex_that_does_not_parse(kb_root: Path) -> None:
    write_entry(kb_root, "alpha", ALPHA + "bibtex: |\n  @article{alpha,\n    title = {Alpha}\n")
    assert (
        "papers/alpha.yaml:25: bibtex: BibTeX does not parse (its line 1): Unexpectedly reached end of file."
        in problems_for(kb_root)[0]
    )


def test_file_that_is_not_a_mapping(kb_root: Path) -> None:
    write_entry(kb_root, "alpha", "- just\n- a list\n")
    assert problems_for(kb_root) == [
        "papers/alpha.yaml:1: must be a mapping of field: value (start from `python -m site_gen add`)"
    ]


def test_yml_extension_is_reported(kb_root: Path) -> None:
    (kb_root / "papers" / "gamma.yml").write_text(ALPHA)
    assert "papers/gamma.yml:1: entry files must end in .yaml (rename it to gamma.yaml)" in problems_for(
        kb_root
    )


@pytest.mark.parametrize(
    ("line", "new", "expected"),
    [
        (
            5,
            'arxiv: "2502.10517"',
            "papers/zeta.yaml:5: arxiv: duplicates papers/alpha.yaml (same arXiv id '2502.10517')",
        ),
        (
            5,
            "doi: 10.1145/1234567.7654321",
            "papers/zeta.yaml:5: doi: duplicates papers/bench.yaml (same DOI '10.1145/1234567.7654321')",
        ),
        (
            2,
            'title: "ALPHA -- Generating kernels, with feedback!"',
            "papers/zeta.yaml:2: title: duplicates papers/alpha.yaml (same title",
        ),
    ],
)
def test_duplicate_works_name_the_original(kb_root: Path, line: int, new: str, expected: str) -> None:
    zeta = (
        ALPHA.replace("id: alpha", "id: zeta").replace("Alpha:", "Zeta:").replace("2502.10517", "2502.20000")
    )
    write_entry(kb_root, "zeta", replace_line(zeta, line, new))
    problems = problems_for(kb_root)
    assert any(p.startswith(expected) for p in problems), problems
    assert not any(p.startswith("papers/alpha.yaml") for p in problems)


def test_taxonomy_file_problems_are_reported(kb_root: Path) -> None:
    vocab = kb_root / "taxonomy" / "vocabularies.yaml"
    text = vocab.read_text().replace(
        "eager: {name: PyTorch eager}", "eager: {name: PyTorch eager, CPU or GPU}"
    )
    vocab.write_text(text)
    line = text.splitlines().index("  eager: {name: PyTorch eager, CPU or GPU}") + 1
    assert problems_for(kb_root) == [
        f"taxonomy/vocabularies.yaml:{line}: baselines.eager.CPU or GPU: unknown key "
        "(a comma inside a {flow: mapping} starts a new key: quote the value)"
    ]


def test_all_problems_are_reported_at_once(kb_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = replace_line(replace_line(ALPHA, 6, "kind: paper"), 9, "  paper: not-a-url")
    write_entry(kb_root, "alpha", text)
    write_entry(kb_root, "bench", "title: [unclosed\n")
    assert main(["check", "--root", str(kb_root)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "FAILED: 3 problem(s) in 2 file(s)"
    assert [line.split(":")[0:3] for line in out[:-1]] == [
        ["papers/alpha.yaml", "6", " kind"],
        ["papers/alpha.yaml", "9", " links.paper"],
        ["papers/bench.yaml", "2", " YAML syntax error"],
    ]


def test_check_ok_summary(kb_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--root", str(kb_root)]) == 0
    assert capsys.readouterr().out.startswith("OK: 2 entries, ")


def test_parallel_check_matches_serial(kb_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(6):
        write_entry(kb_root, f"copy{i}", ALPHA.replace("id: alpha", f"id: copy{i}"))
    serial = problems_for(kb_root)
    monkeypatch.setattr(check_module, "_PARALLEL_FROM", 2)
    assert problems_for(kb_root) == serial
    assert len(serial) == 12  # each copy repeats alpha's arXiv id and title
    assert all("duplicates papers/alpha.yaml" in p for p in serial)


def test_repository_knowledge_base_passes_check() -> None:
    """The CI gate for contributed papers."""
    problems = [str(p) for p in check_knowledge_base(REPO_ROOT).problems]
    assert problems == [], "\n".join(problems)
