"""The entry model: the one source of truth for what a papers/*.yaml file may hold.

The validator (`site_gen.kb.check`) and the published JSON Schema
(`taxonomy/entry.schema.json`) are both derived from these classes; the controlled
vocabularies (taxonomy/vocabularies.yaml) are checked by the validator and injected
into the schema as enums, so editors autocomplete them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

SLUG = r"^[a-z0-9][a-z0-9-]*$"
DATE = r"^\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?$"
ARXIV = r"^(\d{4}\.\d{4,5}|[a-z-]+(\.[A-Z]{2})?/\d{7})$"
DOI = r"^10\.\d{4,9}/\S+$"

# Longest text each free-text field may hold, in characters (list fields: each item). Generous for
# real entries; they keep a pasted abstract, a log or a runaway generator out of every page.
TEXT_LIMITS = {
    "title": 300,
    "aliases": 80,
    "authors": 120,
    "organizations": 150,
    "venue": 150,
    "doi": 200,
    "summary": 700,
    "bibtex": 5000,
    "url": 500,
    "subset": 120,
    "model": 120,
    "hardware": 120,
    "source": 120,
    "notes": 500,
    "task_description": 300,
    "correctness": 300,
    "timing": 300,
    "anti_cheating": 150,
    "benchmark_version": 40,
    "versions": 40,
    "subset_name": 80,
    "subset_description": 300,
}
Url = Annotated[str, Field(max_length=TEXT_LIMITS["url"])]
AliasText = Annotated[str, Field(max_length=TEXT_LIMITS["aliases"])]
AuthorText = Annotated[str, Field(max_length=TEXT_LIMITS["authors"])]
OrganizationText = Annotated[str, Field(max_length=TEXT_LIMITS["organizations"])]
AntiCheatingText = Annotated[str, Field(max_length=TEXT_LIMITS["anti_cheating"])]
VersionText = Annotated[str, Field(max_length=TEXT_LIMITS["versions"])]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Links(_Strict):
    """Where to find the work. Each is an http(s) URL."""

    paper: Url | None = Field(None, description="The paper (arXiv abstract page, venue page, PDF).")
    code: Url | None = Field(None, description="Source repository.")
    project: Url | None = Field(None, description="Project or product page.")
    blog: Url | None = Field(None, description="Blog post or announcement.")
    dataset: Url | None = Field(None, description="Dataset download or hub page.")
    model: Url | None = Field(None, description="Released model weights.")
    docs: Url | None = Field(None, description="Documentation.")


SUBSET = r"^[a-z0-9][a-z0-9.-]*(:[a-z0-9][a-z0-9-]*)?$"
ARXIV_VERSION = r"^(\d{4}\.\d{4,5}|[a-z-]+(\.[A-Z]{2})?/\d{7})v\d+$"


class Result(_Strict):
    """One number a paper reports, with enough context to compare it honestly.

    Two results are comparable (ranked in one leaderboard) when they share benchmark, subset,
    benchmark version, metric, aggregate, p or k, baseline and hardware."""

    benchmark: str = Field(..., pattern=SLUG, description="Id of the benchmark entry (papers/<id>.yaml).")
    subset: str | None = Field(
        None,
        pattern=SUBSET,
        max_length=TEXT_LIMITS["subset"],
        description="Subset slug the benchmark entry declares (benchmark.subsets), e.g. level1, "
        "levels1-3; or holdout:<entry id> for a selection of tasks made by that paper. Leave out "
        "for a benchmark without subsets.",
    )
    benchmark_version: str | None = Field(
        None,
        max_length=TEXT_LIMITS["benchmark_version"],
        description="Benchmark version the benchmark entry declares (benchmark.versions), e.g. v0.1.",
    )
    metric: str = Field(
        ..., description="What is measured per task: metrics slug (speedup, correctness, ...)."
    )
    aggregate: str = Field(
        ...,
        description="How tasks are combined: aggregates slug (mean, geomean, median, max, sum, share, fast_p, pass-at-k).",
    )
    p: float | None = Field(None, description="Speedup threshold p of fast_p, e.g. 1.0.")
    k: int | None = Field(None, ge=1, description="Samples k of pass-at-k.")
    value: float = Field(
        ...,
        allow_inf_nan=False,
        description="The reported number: speedups as ratios (1.5), percentages as 0-100.",
    )
    baseline: str = Field(
        "none", description="What speed is compared with: baselines slug (eager, compile-default, ...)."
    )
    model: str | None = Field(
        None,
        max_length=TEXT_LIMITS["model"],
        description="LLM or system that produced the kernels, as the paper names it; required for "
        "speed and correctness metrics.",
    )
    hardware: str | None = Field(
        None,
        max_length=TEXT_LIMITS["hardware"],
        description="Device the number was measured on: devices slug (nvidia-h100, ...); required "
        "for speed and correctness metrics.",
    )
    arxiv: str | None = Field(
        None,
        pattern=ARXIV_VERSION,
        description="The arXiv version the number is read from, with its version: 2507.14111v8.",
    )
    url: str | None = Field(
        None,
        max_length=TEXT_LIMITS["url"],
        description="Where the number is read from when that is not an arXiv version (README, model card, report).",
    )
    source: str = Field(
        ...,
        max_length=TEXT_LIMITS["source"],
        description="Where in that document: 'Table 2', 'Figure 4', 'Section 5.1', 'Abstract'.",
    )
    notes: str | None = Field(
        None, max_length=TEXT_LIMITS["notes"], description="Anything needed to read the number correctly."
    )

    @field_validator("value", mode="before")
    @classmethod
    def _plain_number(cls, value: object) -> object:
        """YAML reads `yes`, `true` and `"1.5"` without complaint; a result is a bare number."""
        if isinstance(value, bool):
            shown = "true" if value else "false"
            raise PydanticCustomError("number_type", f"{shown} is a yes/no value, not a number")
        if isinstance(value, str):
            shown = repr(value).replace("{", "(").replace("}", ")")
            raise PydanticCustomError(
                "number_type", f"{shown} is text, not a number: write the bare number (3.12, not '3.12x')"
            )
        return value


class Subset(_Strict):
    """A named part of a benchmark that results may be reported on."""

    name: str = Field(
        ..., max_length=TEXT_LIMITS["subset_name"], description="What the site shows, e.g. 'Level 1'."
    )
    tasks: int | None = Field(None, ge=1, description="Number of tasks in the subset.")
    description: str | None = Field(
        None, max_length=TEXT_LIMITS["subset_description"], description="What the subset holds."
    )


class BenchmarkInfo(_Strict):
    """How a benchmark is built and scored: what the Benchmarks page compares across suites."""

    tasks: int | None = Field(None, ge=1, description="Number of tasks (problems) in the suite.")
    task_description: str | None = Field(
        None,
        max_length=TEXT_LIMITS["task_description"],
        description="What the tasks are, e.g. '250 PyTorch programs in 3 levels'.",
    )
    correctness: str | None = Field(
        None,
        max_length=TEXT_LIMITS["correctness"],
        description="How correctness is checked, e.g. 'allclose over 5 random inputs, atol=rtol=1e-2'.",
    )
    timing: str | None = Field(
        None,
        max_length=TEXT_LIMITS["timing"],
        description="How speed is measured, e.g. 'CUDA events, 100 trials, mean'.",
    )
    anti_cheating: list[AntiCheatingText] = Field(
        default_factory=list,
        description="Measures against gamed results, as short phrases (e.g. 'multiple input shapes').",
    )
    baselines: list[str] = Field(
        default_factory=list,
        description="Baseline slugs from taxonomy/vocabularies.yaml (baselines) speed is compared with.",
    )
    reference_hardware: list[str] = Field(
        default_factory=list,
        description="Devices slugs the benchmark publishes baseline timings or reference results for.",
    )
    subsets: dict[str, Subset] = Field(
        default_factory=dict,
        description="The subsets results may name, slug -> {name, tasks}: e.g. level1: {name: Level 1, tasks: 100}.",
    )
    versions: list[VersionText] = Field(
        default_factory=list, description="Released versions results may name, e.g. [v0, v0.1]."
    )


class Entry(_Strict):
    """One surveyed work: a method, dataset, benchmark, library, framework, DSL or guide."""

    id: str = Field(..., pattern=SLUG, description="Stable id; must equal the file name without .yaml.")
    title: str = Field(
        ..., min_length=3, max_length=TEXT_LIMITS["title"], description="Full title as published."
    )
    aliases: list[AliasText] = Field(
        default_factory=list, description="Short names people search for (e.g. 'CudaForge')."
    )
    authors: list[AuthorText] = Field(default_factory=list, description="Authors in order, 'First Last'.")
    organizations: list[OrganizationText] = Field(
        default_factory=list, description="Companies or labs behind the work."
    )
    date: str = Field(..., pattern=DATE, description="First public release, YYYY-MM or YYYY-MM-DD.")
    venue: str | None = Field(
        None, max_length=TEXT_LIMITS["venue"], description="Venue, e.g. 'NeurIPS 2025'; omit for preprints."
    )
    arxiv: str | None = Field(None, pattern=ARXIV, description="arXiv id without version, e.g. '2502.10517'.")
    doi: str | None = Field(
        None,
        pattern=DOI,
        max_length=TEXT_LIMITS["doi"],
        description="DOI without the https://doi.org/ prefix.",
    )
    kind: str = Field(..., description="Kind slug from taxonomy/vocabularies.yaml (kinds).")
    taxonomy: list[str] = Field(
        ..., min_length=1, description="One or more category slugs from taxonomy/categories.yaml."
    )
    links: Links = Field(default_factory=Links)
    languages: list[str] = Field(default_factory=list, description="Kernel languages generated or covered.")
    hardware: list[str] = Field(default_factory=list, description="Hardware targeted.")
    techniques: list[str] = Field(default_factory=list, description="Techniques used.")
    benchmarks: list[str] = Field(
        default_factory=list, description="Ids of benchmark entries the work evaluates on."
    )
    summary: str = Field(
        ..., min_length=40, max_length=TEXT_LIMITS["summary"], description="1-3 sentences in our own words."
    )
    bibtex: str | None = Field(
        None,
        max_length=TEXT_LIMITS["bibtex"],
        description="Exact BibTeX; generated from the fields when absent.",
    )
    benchmark: BenchmarkInfo | None = Field(
        None, description="For benchmark entries: tasks, correctness check, timing, anti-cheating."
    )
    results: list[Result] = Field(
        default_factory=list, description="Numbers the work reports, with provenance."
    )
    added: str | None = Field(
        None, pattern=DATE, description="When the entry joined KernelAtlas (YYYY-MM-DD)."
    )


FACETS: dict[str, Literal["kinds", "languages", "hardware", "techniques"]] = {
    "kind": "kinds",
    "languages": "languages",
    "hardware": "hardware",
    "techniques": "techniques",
}
