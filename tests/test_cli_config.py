"""The CLI flags come from the config dataclasses; nesting is consistent and the old commands are aliases."""

import dataclasses

import pytest

from g2r_lens.cli import build_parser
from g2r_lens.cli.config_args import add_config_args, config_from_args
from g2r_lens.cli.world import build_config
from g2r_lens.rl.config import TrainConfig
from g2r_lens.world.config import BuildConfig, ModelShape


def _option_strings(argv):
    parser = build_parser()
    sub = parser._subparsers._group_actions[0].choices  # noqa: SLF001
    p = sub[argv[0]]
    for name in argv[1:]:
        p = p._subparsers._group_actions[0].choices[name]  # noqa: SLF001
    return {s for a in p._actions for s in a.option_strings}  # noqa: SLF001


def test_every_config_field_is_a_flag_with_help():
    train = _option_strings(["rl", "train"])
    for f in dataclasses.fields(TrainConfig):
        assert f.metadata.get("help"), f"TrainConfig.{f.name} has no help metadata"
        assert "--" + f.name.replace("_", "-") in train
    assert _option_strings(["train"]) == train  # the alias takes the same flags
    build = _option_strings(["world", "build"])
    for f in dataclasses.fields(BuildConfig):
        if f.name in ("policy", "judge"):
            for g in dataclasses.fields(ModelShape):
                assert f"--{f.name}-{g.name.replace('_', '-')}" in build
        else:
            assert "--" + f.name.replace("_", "-") in build


def test_train_flags_build_the_config():
    argv = ["--out", "x", "--lr", "0.01", "--group-size", "4", "--no-judge-oracles", "--attribute-false",
            "--world", "w", "--reward", "sparse"]
    for cmd in (["rl", "train"], ["train"]):
        args = build_parser().parse_args(cmd + argv)
        cfg = config_from_args(TrainConfig, args)
        assert cfg == TrainConfig(lr=0.01, group_size=4, judge_oracles=False, attribute_false=True, world="w",
                                  reward="sparse")
    args = build_parser().parse_args(["rl", "train", "--out", "x"])
    assert config_from_args(TrainConfig, args) == TrainConfig()  # nothing given: the dataclass defaults


def test_world_build_flags_override_the_quick_base():
    cfg = build_config(build_parser().parse_args(["world", "build", "--quick", "--policy-layers", "2",
                                                  "--seed", "3", "--no-parallel"]))
    q = BuildConfig.quick()
    assert cfg == dataclasses.replace(q, seed=3, parallel=False, policy=dataclasses.replace(q.policy, layers=2))
    assert build_config(build_parser().parse_args(["world", "build"])) == BuildConfig()


def test_compare_alias_and_bad_types():
    for cmd in (["rl", "compare"], ["compare"]):
        args = build_parser().parse_args(cmd + ["a", "b", "--out", "r"])
        assert args.runs == ["a", "b"] and args.out == "r" and args.fn.__name__ == "cmd_compare"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--out", "x", "--lr", "fast"])

    @dataclasses.dataclass
    class Odd:
        xs: list = dataclasses.field(default_factory=list)

    import argparse

    with pytest.raises(TypeError, match="no command-line form"):
        add_config_args(argparse.ArgumentParser(), Odd)
