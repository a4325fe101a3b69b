"""The static site: `render` writes every page from the loaded knowledge base (with `works`,
`reported`, `reproduced` and `charts` preparing what pages show), `mkdocs_hook` runs the render
inside MkDocs, `build` holds the `build` and `serve` commands; `templates/` and `assets/` beside
them. Imports `site_gen.kb` and `site_gen.outputs`, and from `repro` only the torch-free
file formats in `repro.records`."""
