"""What is made from the knowledge base (BibTeX, the awesome list, JSON/CSV exports, the JSON Schema)
and what writes into it (`add`). Each module is also a `python -m site_gen` command. Imports
`site_gen.kb` only."""
