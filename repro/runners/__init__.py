"""Runners: the library's pieces combined into whole runs, each behind one command: a suite of
candidates evaluated resumably (`eval_suite`), the reproduction behind the site's result tables
(`reproduction`), and trajectories turned into datasets (`datasets`).

May import the library (tasks, harness, proposers, backends, loops) and records; never a command.
"""
