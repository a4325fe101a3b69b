"""The knowledge base: the entry model (`model`), YAML with line numbers (`yaml_lines`), the taxonomy
and vocabularies (`taxonomy`), the checks of one entry (`entry_checks`) and of the whole base
(`check`), and the validated, loaded base (`load`). Imports nothing from site_gen outside `kb`."""
