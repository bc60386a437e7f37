"""The generic Registry: decorator registration with capabilities, duplicates refused, clear unknown-name errors."""

import pytest

from g2r_lens.errors import DuplicateNameError, G2RError, UnknownMethodError, UnknownNameError
from g2r_lens.registry import Registry


def test_register_returns_the_function_and_stores_capabilities():
    reg = Registry("widget")

    @reg.register("b", fast=True, family="x")
    def b():
        return "b"

    @reg.register("a")
    def a():
        return "a"

    assert b() == "b" and reg.get("b") is b and reg["a"] is a
    assert reg.names() == ["a", "b"] and sorted(reg) == ["a", "b"] and len(reg) == 2 and "a" in reg
    assert dict(reg.capabilities("b")) == {"fast": True, "family": "x"}
    assert dict(reg.capabilities("a")) == {}
    assert reg.names(fast=True) == ["b"] and reg.names(family="y") == [] and reg.names(fast=False) == []
    with pytest.raises(TypeError):
        reg.capabilities("b")["fast"] = False  # read-only view


def test_duplicate_name_refused_and_first_kept():
    reg = Registry("widget")
    reg.add("a", 1)
    with pytest.raises(DuplicateNameError, match="widget 'a' is already registered"):
        reg.register("a")(lambda: 2)
    assert reg.get("a") == 1
    assert issubclass(DuplicateNameError, G2RError) and issubclass(DuplicateNameError, ValueError)


def test_unknown_name_lists_known_ones():
    reg = Registry("reward mode")
    reg.add("sparse", 0)
    reg.add("dense", 1)
    with pytest.raises(UnknownNameError) as info:
        reg.get("densee")
    assert str(info.value) == "unknown reward mode 'densee'; known: dense, sparse"
    with pytest.raises(UnknownNameError, match=r"known: \(none\)"):
        Registry("thing").get("x")
    with pytest.raises(UnknownNameError):
        reg.get(["not", "hashable"])  # type: ignore[arg-type]


def test_custom_unknown_error_and_bad_names():
    reg = Registry("attribution method", unknown_error=UnknownMethodError)
    with pytest.raises(UnknownMethodError, match="unknown attribution method 'nope'"):
        reg.get("nope")
    with pytest.raises(TypeError):
        reg.add("", 1)
    with pytest.raises(TypeError):
        Registry("x", unknown_error=KeyError)  # type: ignore[arg-type]


def test_advantage_registry_uses_it():
    from g2r_lens.rl.advantages import ADVANTAGES, get_estimator, register_advantage

    assert isinstance(ADVANTAGES, Registry) and "sparse" in ADVANTAGES.names()
    with pytest.raises(DuplicateNameError, match="advantage estimator 'sparse' is already registered"):
        register_advantage("sparse")(lambda token_rewards, sequence_rewards, mask, group_ids: token_rewards)
    with pytest.raises(UnknownNameError, match="unknown advantage estimator 'gae'; known: .*sparse"):
        get_estimator("gae")
