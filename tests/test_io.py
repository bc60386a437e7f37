"""io: JSON cleaning and atomic writes, against hand-written expectations."""

import json
import math

import numpy as np
import pytest

from g2r_lens.io import atomic_path, atomic_write, clean_json


def test_clean_json_hand_values():
    raw = {1: (np.float32(0.5), float("nan")), "b": [np.int64(3), math.inf, -math.inf, np.bool_(True)], "c": "x"}
    got = clean_json(raw)
    assert got == {"1": [0.5, None], "b": [3, None, None, True], "c": "x"}
    assert type(got["b"][0]) is int and type(got["b"][3]) is bool
    json.dumps(got, allow_nan=False)  # valid strict JSON


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path):
    p = tmp_path / "sub" / "f.json"
    assert atomic_write(p, "héllo") == p and p.read_bytes() == "héllo".encode("utf-8")
    atomic_write(p, b"\x00\x01", fsync=False)
    assert p.read_bytes() == b"\x00\x01"
    assert sorted(x.name for x in p.parent.iterdir()) == ["f.json"]


def test_atomic_path_keeps_the_old_file_on_error(tmp_path):
    p = tmp_path / "f.txt"
    p.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(p) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed mid-write")
    assert p.read_text() == "old" and sorted(x.name for x in tmp_path.iterdir()) == ["f.txt"]


def test_json_object_errors_name_the_place():
    from g2r_lens.errors import G2RError
    from g2r_lens.io import json_object

    assert json_object('{"a": 1}', "f") == {"a": 1}
    with pytest.raises(G2RError, match=r"^f, line 2: not valid JSON \(.* at line 1, column 2\)$"):
        json_object("{bad", "f, line 2")
    with pytest.raises(G2RError, match=r"^x:1: expected a JSON object with keys, got list$"):
        json_object("[1]", "x:1", "a JSON object with keys")
