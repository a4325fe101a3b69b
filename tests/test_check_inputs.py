"""`check` explains every malformed input a contributor can produce instead of crashing on it or
silently reading something else: duplicate keys, things that are not files, overlong text,
impossible arXiv ids, and duplicates whose fix must never delete the published entry."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import ALPHA, BENCH, TODAY, replace_line, write_entry

from site_gen.cli import main
from site_gen.kb.check import check_knowledge_base
from site_gen.kb.model import TEXT_LIMITS


def problems_for(root: Path) -> list[str]:
    return [str(p) for p in check_knowledge_base(root, today=TODAY).problems]


def _line_of(text: str, line: str) -> int:
    return text.splitlines().index(line) + 1


def test_duplicate_top_level_key_names_both_lines(kb_root: Path) -> None:
    write_entry(kb_root, "alpha", ALPHA + 'title: "Alpha, the second title"\n')
    repeat = len(ALPHA.splitlines()) + 1
    assert problems_for(kb_root) == [
        f"papers/alpha.yaml:{repeat}: title: duplicate key: `title:` is also on line 2"
        " (keep one of the two lines: YAML would silently use only the last)"
    ]


def test_duplicate_nested_key_names_both_lines(kb_root: Path) -> None:
    first = _line_of(ALPHA, "    value: 40.0")
    write_entry(kb_root, "alpha", replace_line(ALPHA, first, "    value: 40.0\n    value: 4.0"))
    assert problems_for(kb_root) == [
        f"papers/alpha.yaml:{first + 1}: results[0].value: duplicate key: `value:` is also on line {first}"
        " (keep one of the two lines: YAML would silently use only the last)"
    ]


def test_directory_named_like_an_entry_is_a_problem_not_a_crash(
    kb_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (kb_root / "papers" / "drafts.yaml").mkdir()
    assert main(["check", "--root", str(kb_root)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "papers/drafts.yaml:1: is a directory, not an entry file"
        " (move it out of papers/ or rename it so that it does not end in .yaml)",
        "FAILED: 1 problem(s) in 1 file(s)",
    ]


def test_dangling_symlink_is_a_problem_not_a_crash(kb_root: Path, tmp_path: Path) -> None:
    target = tmp_path / "gone.yaml"
    os.symlink(target, kb_root / "papers" / "linked.yaml")
    assert problems_for(kb_root) == [
        f"papers/linked.yaml:1: is a symbolic link to {target}, which does not exist"
        " (remove the link or restore the file it points to)"
    ]


def test_a_symlink_to_a_real_entry_is_read(kb_root: Path, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.yaml"
    target.write_text(ALPHA.replace("id: alpha", "id: linked").replace("2502.10517", "2502.10518"))
    target.write_text(target.read_text().replace("Alpha:", "Linked:"))
    os.symlink(target, kb_root / "papers" / "linked.yaml")
    assert problems_for(kb_root) == []


# One too-long value per free-text field: (the field's path, the YAML line that sets it).
LONG_FIELDS = [
    (("title",), "title: {}"),
    (("aliases", 0), "aliases: [{}]"),
    (("authors", 0), "authors: [{}]"),
    (("organizations", 0), "organizations: [{}]"),
    (("venue",), "venue: {}"),
    (("summary",), "summary: {}"),
    (("bibtex",), "bibtex: {}"),
    (("links", "code"), "links: {{paper: 'https://arxiv.org/abs/2502.10517', code: 'https://x.org/{}'}}"),
]


@pytest.mark.parametrize("path,line", LONG_FIELDS, ids=lambda v: str(v))
def test_every_free_text_field_of_an_entry_has_a_length_cap(
    kb_root: Path, path: tuple[str | int, ...], line: str
) -> None:
    name = path[0]
    limit = TEXT_LIMITS[name if name != "links" else "url"]
    text = ALPHA.replace("links:\n  paper: https://arxiv.org/abs/2502.10517\n", "")
    write_entry(kb_root, "alpha", text + line.format("x" * (limit + 1)) + "\n")
    found = [p for p in problems_for(kb_root) if "characters" in p]
    assert len(found) == 1, problems_for(kb_root)
    assert f"at most {limit} allowed" in found[0] and "shorten it" in found[0]


RESULT_FIELDS = ["subset", "benchmark_version", "model", "hardware", "url", "source", "notes"]


@pytest.mark.parametrize("name", RESULT_FIELDS)
def test_every_free_text_field_of_a_result_has_a_length_cap(kb_root: Path, name: str) -> None:
    limit = TEXT_LIMITS[name]
    long = "y" * (limit + 1)
    lines = [line for line in ALPHA.splitlines() if not line.startswith(f"    {name}:")]
    lines.insert(lines.index("    value: 40.0") + 1, f"    {name}: {long}")
    text = "\n".join(lines) + "\n"
    write_entry(kb_root, "alpha", text)
    found = [p for p in problems_for(kb_root) if "characters" in p]
    assert found == [
        f"papers/alpha.yaml:{_line_of(text, f'    {name}: {long}')}: results[0].{name}:"
        f" {limit + 1} characters, at most {limit} allowed (shorten it; the full text belongs in the paper)"
    ]


def test_a_five_megabyte_subset_is_refused(kb_root: Path) -> None:
    text = ALPHA.replace("    value: 40.0\n", "    value: 40.0\n    subset: " + "l" * 5_000_000 + "\n")
    write_entry(kb_root, "alpha", text)
    found = [p for p in problems_for(kb_root) if "results[0].subset: 5000000 characters" in p]
    assert len(found) == 1, problems_for(kb_root)


BENCHMARK_FIELDS = {
    "task_description": "  task_description: {}",
    "correctness": "  correctness: {}",
    "timing": "  timing: {}",
    "anti_cheating": "  anti_cheating: [{}]",
    "versions": "  versions: [{}]",
    "subset_name": "  subsets:\n    level1: {{name: {}}}",
    "subset_description": "  subsets:\n    level1: {{name: Level 1, description: {}}}",
}


@pytest.mark.parametrize("name", BENCHMARK_FIELDS)
def test_every_free_text_field_of_a_benchmark_block_has_a_length_cap(kb_root: Path, name: str) -> None:
    limit = TEXT_LIMITS[name]
    block = BENCHMARK_FIELDS[name].format("z" * (limit + 1))
    text = BENCH if "\nbenchmark:" in BENCH else BENCH + "benchmark:\n"
    write_entry(kb_root, "bench", text + block + "\n")
    found = [p for p in problems_for(kb_root) if "characters" in p]
    assert len(found) == 1 and f"at most {limit} allowed" in found[0], problems_for(kb_root)


@pytest.mark.parametrize("arxiv", ["2513.12345", "2500.12345", "0612.12345", "1412.12345"])
def test_arxiv_ids_that_were_never_issued_are_refused(kb_root: Path, arxiv: str) -> None:
    write_entry(kb_root, "alpha", ALPHA.replace('arxiv: "2502.10517"', f'arxiv: "{arxiv}"'))
    found = problems_for(kb_root)
    assert any(p.startswith(f"papers/alpha.yaml:5: arxiv: {arxiv!r} was never issued") for p in found), found


def test_duplicate_fix_keeps_the_entry_added_first(kb_root: Path) -> None:
    """The copy that sorts first by name is the new one here: it is the one to drop."""
    original = ALPHA.replace("id: alpha", "id: zeta") + 'added: "2025-03-01"\n'
    write_entry(kb_root, "alpha", ALPHA + 'added: "2026-11-20"\n')
    write_entry(kb_root, "zeta", original)
    found = problems_for(kb_root)
    assert found and all(p.startswith("papers/alpha.yaml:") for p in found), found
    assert all("duplicates papers/zeta.yaml" in p for p in found)
    assert all("drop papers/alpha.yaml or merge what it adds into papers/zeta.yaml" in p for p in found)
    assert not any("delete" in p for p in found)


def test_duplicate_fix_without_added_dates_never_says_delete(kb_root: Path) -> None:
    write_entry(kb_root, "zeta", ALPHA.replace("id: alpha", "id: zeta"))
    found = problems_for(kb_root)
    assert found and not any("delete" in p for p in found), found
    assert all("keep the entry already published" in p for p in found), found
