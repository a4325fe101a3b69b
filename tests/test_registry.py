"""Loops, proposers, backends and commands are chosen by name through one registry: a misspelt name is
refused with the close matches, and a loop's flags are generated from its `Params` dataclass."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from repro.backends import BACKENDS, make_backend
from repro.cli import COMMANDS, build_parser, main
from repro.commands.options import params_from_args
from repro.loops import LOOPS, loop_params, params_dict, run_loop
from repro.proposers import PROPOSERS, make_proposer
from repro.registry import Registry, UnknownName, unknown_message


def test_unknown_name_offers_the_close_match_and_the_choices() -> None:
    reg: Registry[object] = Registry("loop")
    reg.add("evolve", "repro.loops.evolve")
    reg.add("refine", "repro.loops.refine")
    with pytest.raises(
        UnknownName, match=r"unknown loop 'evolv': did you mean 'evolve'\? \(choose from evolve, refine\)"
    ):
        reg.get("evolv")
    assert unknown_message("loop", "zzz", ["a", "b"]) == "unknown loop 'zzz' (choose from a, b)"
    with pytest.raises(ValueError, match="registered twice"):
        reg.add("evolve", "x")


def test_entries_are_imported_only_when_chosen() -> None:
    reg: Registry[object] = Registry("thing")
    reg.add("missing", "repro.no_such_module:Thing")
    assert reg.names() == ["missing"]  # listing imports nothing
    with pytest.raises(ModuleNotFoundError):
        reg.get("missing")


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: make_proposer("mutat"), "unknown proposer 'mutat': did you mean 'mutate'?"),
        (lambda: make_backend("rey", "cpu", [None]), "unknown backend 'rey': did you mean 'ray'?"),
        (lambda: loop_params("evolv"), "unknown loop 'evolv': did you mean 'evolve'?"),
    ],
)
def test_each_registry_names_the_close_match(build, message: str) -> None:
    with pytest.raises(UnknownName, match=message):
        build()


def test_registered_commands_are_the_subcommands(capsys: pytest.CaptureFixture) -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert list(sub.choices) == COMMANDS.names()
    assert main(["reproduse"]) == 2
    assert "unknown command 'reproduse': did you mean 'reproduce'?" in capsys.readouterr().err


def test_command_line_names_come_from_the_registries() -> None:
    args = build_parser().parse_args(["run", "--suite", "smoke", "--loop", "bandit", "--proposer", "mutate"])
    assert args.backend == "local" and set(BACKENDS) == {"local", "ray"}
    assert set(PROPOSERS) == {"openai", "template", "mutate", "replay"}
    assert params_from_args(LOOPS.get("bandit").Params, args) == {"ucb_c": 1.4}


@pytest.mark.parametrize("loop", LOOPS.names())
def test_a_loops_flags_are_generated_from_its_params(loop: str) -> None:
    params_class = LOOPS.get(loop).Params
    argv = ["run", "--suite", "smoke", "--loop", loop, "--proposer", "mutate"]
    defaults = params_from_args(params_class, build_parser().parse_args(argv))
    assert defaults == params_dict(params_class())  # each field has a flag with the field's default
    for f in dataclasses.fields(params_class):
        assert f.metadata["help"], f"{loop}: {f.name} has no help text"
        value = f.metadata["choices"][-1] if f.metadata["choices"] else f.default * 2
        flag = "--" + f.name.replace("_", "-")
        parsed = params_from_args(params_class, build_parser().parse_args([*argv, flag, str(value)]))
        assert parsed[f.name] == value and type(parsed[f.name]) is type(f.default)


def test_recorded_parameters_are_checked() -> None:
    assert loop_params("refine", {"refine_from": "best"}).refine_from == "best"
    with pytest.raises(ValueError, match=r"unknown loop parameter\(s\) \['depth'\]"):
        loop_params("refine", {"depth": 3})
    with pytest.raises(ValueError, match="--refine-from 'oldest': choose from latest, best"):
        loop_params("refine", {"refine_from": "oldest"})


def test_run_loop_refuses_another_loops_params(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"loop 'evolve' takes repro.loops.evolve.Params, not Params"):
        run_loop(None, "evolve", loop_params("refine"))  # type: ignore[arg-type]
