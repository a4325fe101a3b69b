"""evolve: a population under selection, crossover and mutation, on islands, with an archive.

Follows The AI CUDA Engineer (Lange et al., 2025: evolutionary optimization of kernels with an archive
of high-performing kernels as stepping stones) and EvoEngineer (Guo et al., 2025: population-based
kernel evolution with explicit crossover and mutation operators). Parameters: `--population P`
(per island, default 4), `--islands I` (default 2), `--crossover-rate` (default 0.3),
`--migrate-every G` generations (ring migration of each island's best, default 2), `--archive-size`
(stepping stones kept, default 16) and `--archive-rate` (chance a parent comes from the archive,
default 0.2). Selection is a size-2 tournament on fitness (speedup if correct). The budget bounds the
total number of candidates, initial population included.
"""

from __future__ import annotations

from dataclasses import dataclass

from repro.loops.core import Candidate, LoopRun
from repro.loops.params import param

NAME = "evolve"


@dataclass(frozen=True)
class Params:
    population: int = param(4, "individuals per island (default 4)")
    islands: int = param(2, "number of islands (default 2)")
    crossover_rate: float = param(0.3, "chance of crossover vs mutation")
    migrate_every: int = param(2, "generations between migrations")
    archive_size: int = param(16, "stepping stones kept in the archive")
    archive_rate: float = param(0.2, "chance a parent comes from the archive")


def _tournament(r: LoopRun, pool: list[Candidate]) -> Candidate:
    a, b = r.rng.choice(pool), r.rng.choice(pool)
    return a if a.score >= b.score else b


def run(r: LoopRun, params: Params) -> None:
    if params.population < 1 or params.islands < 1:
        raise ValueError("--population and --islands must be at least 1")
    islands: list[list[Candidate]] = [[] for _ in range(params.islands)]
    for _ in range(params.population):
        for island in islands:
            island.append(r.step())
    archive: list[Candidate] = []
    generation = 0
    while True:
        generation += 1
        for island in islands:
            pool = [c for c in island if c.source] or [c for c in archive if c.source]
            if not pool:  # nothing to vary yet: sample afresh
                child = r.step()
            else:
                if archive and r.rng.random() < params.archive_rate:
                    a = r.rng.choice(archive)
                else:
                    a = _tournament(r, pool)
                if len(pool) >= 2 and r.rng.random() < params.crossover_rate:
                    b = _tournament(r, [c for c in pool if c is not a] or pool)
                    child = r.step([a, b], feedback=r.feedback(a) + "\n\n" + r.feedback(b))
                else:
                    child = r.step([a], feedback=r.feedback(a))
            island.append(child)
            island.sort(key=lambda c: c.score, reverse=True)
            del island[params.population :]
            if child.correct:
                archive = sorted([*archive, child], key=lambda c: c.score, reverse=True)[
                    : params.archive_size
                ]
        if len(islands) > 1 and generation % max(1, params.migrate_every) == 0:
            bests = [island[0] for island in islands]
            for i, best in enumerate(bests):
                target = islands[(i + 1) % len(islands)]
                if best not in target:
                    target[-1] = best
                    target.sort(key=lambda c: c.score, reverse=True)
