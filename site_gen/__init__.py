"""site_gen: validate the KernelAtlas knowledge base and render it into a static site.

The flow runs down the folders, and imports point down only:

- `kb/`: the knowledge base itself: the entry model, YAML loading with line numbers, the checks,
  the taxonomy and where files live. Imports nothing else from site_gen.
- `outputs/`: what is made from the knowledge base or written into it: BibTeX, the awesome list,
  JSON/CSV exports, the JSON Schema, and `add` (new entries). Imports `kb`.
- `site/`: the static site: page rendering, the works table, result pages, charts, the MkDocs
  hook and build, templates and assets. Imports `kb` and `outputs`.
- `cli.py` (`python -m site_gen`) and `bench.py` (`python -m site_gen.bench`) sit on top.

site_gen never imports `repro`'s code: reproduced results reach the site as the files under repro/results/,
read through their torch-free format modules in `repro.records` (the one import allowed).
"""
