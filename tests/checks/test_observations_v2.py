"""observations.json version 2: a JSON manifest plus binary columns, read like version 1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from chaos.checks.observations_file import ObservationsError, read_observations
from chaos.formats.observations import (
    ObservationsFormatError,
    columns_path,
    read_document,
    to_lists,
    write_observations,
)
from tests.checks.builders import T0, observations_json
from tests.checks.test_files import scenario


def document(n: int = 5) -> dict[str, Any]:
    """The dict an observer builds: numpy order columns, plain lists from the services."""
    doc: dict[str, Any] = orjson.loads(observations_json(scenario(n).observations()))
    doc["orders"] = {k: np.asarray(v, dtype=np.int64) for k, v in doc["orders"].items()}
    return doc


def assert_same(a: Any, b: Any) -> None:
    for col in ("order_id", "outcome", "t_terminal", "redeliveries", "value", "qty", "points"):
        assert np.array_equal(getattr(a, col), getattr(b, col)), col
    assert a.effects.keys() == b.effects.keys()
    for name in a.effects:
        (ids_a, counts_a), (ids_b, counts_b) = a.effects[name], b.effects[name]
        assert np.array_equal(ids_a, ids_b) and np.array_equal(counts_a, counts_b), name
    assert a.saga == b.saga and a.totals == b.totals and a.settings == b.settings
    assert np.array_equal(a.dead_letters.order_id, b.dead_letters.order_id)
    assert np.array_equal(a.dead_letters.attempts, b.dead_letters.attempts)
    assert a.dead_letters.reason == b.dead_letters.reason


@pytest.mark.parametrize("n", [3, 5000])
def test_v2_reads_exactly_what_v1_reads(tmp_path: Path, n: int) -> None:
    doc = document(n)
    (tmp_path / "v1").mkdir()
    (tmp_path / "v1" / "observations.json").write_bytes(
        orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY)
    )
    write_observations(tmp_path / "observations.json", doc)
    v1 = read_observations(tmp_path / "v1" / "observations.json")
    v2 = read_observations(tmp_path / "observations.json")
    assert_same(v2, v1)
    assert v2.order_id.dtype == np.int64 and v2.t_terminal.dtype == np.int64
    assert v2.outcome.dtype == np.int8 and v2.qty.dtype == np.int8  # stored narrow
    manifest = orjson.loads((tmp_path / "observations.json").read_bytes())
    assert (manifest["format"], manifest["version"]) == ("pipechaos.observations", 2)
    assert manifest["orders"]["t_terminal"]["$array"]["dtype"] == "<i8"
    assert manifest["totals"] == doc["totals"]  # small things stay readable JSON
    assert not list(tmp_path.glob("*.tmp"))


def test_unknown_columns_and_sections_travel_through_unchanged(tmp_path: Path) -> None:
    doc = document(4)
    doc["orders"]["consumer"] = np.array([0, 1, 2, 1, 0, 2], dtype=np.int64)  # a newer observer
    doc["orders"]["handled_by"] = ["c-0", "c-1", "c-2", "c-1", "c-0", "c-2"]
    doc["consumers"] = {"consumer-0": {"finished": 3, "released": 1, "recoveries": [2, 5]}}
    doc["settings"]["ports"] = [6379, 6380]
    doc["effects"]["points.award"]["note"] = "x"
    path = tmp_path / "observations.json"
    write_observations(path, doc)
    back = read_document(path)
    assert isinstance(back["orders"]["consumer"], np.ndarray)
    plain = to_lists({k: v for k, v in back.items() if k != "columns"})
    assert plain == {**to_lists(doc), "version": 2}
    assert plain["consumers"]["consumer-0"]["recoveries"] == [2, 5]  # lists outside the
    assert back["settings"]["ports"] == [6379, 6380]  # columnar sections stay lists
    obs = read_observations(path)  # the checks ignore what they do not know
    assert obs.order_id.tolist() == [1, 2, 3, 4, 5, 6]


def test_big_values_keep_their_width(tmp_path: Path) -> None:
    doc = document(3)
    doc["orders"]["t_terminal"][0] = T0 + 2**40
    doc["orders"]["value"][1] = -(2**20)
    path = tmp_path / "observations.json"
    write_observations(path, doc)
    obs = read_observations(path)
    assert obs.t_terminal[0] == T0 + 2**40 and obs.value[1] == -(2**20)
    assert obs.value.dtype == np.int32


def written(tmp_path: Path) -> Path:
    path = tmp_path / "observations.json"
    write_observations(path, document(3))
    return path


def error(path: Path) -> str:
    with pytest.raises(ObservationsError) as info:
        read_observations(path)
    assert "\n" not in str(info.value)
    return str(info.value)


def test_missing_or_foreign_columns_are_one_line_errors(tmp_path: Path) -> None:
    path = written(tmp_path)
    side = columns_path(path)
    saved = side.read_bytes()
    side.unlink()
    assert error(path).startswith("observations.columns: cannot read")
    other = written(tmp_path / "other")  # a columns file of another run
    side.write_bytes(columns_path(other).read_bytes())
    assert "does not belong to observations.json" in error(path)
    side.write_bytes(saved[: len(saved) - 70])
    assert "runs past the end" in error(path)
    side.write_bytes(b"garbage" * 10)
    assert "not a pipechaos observation columns file" in error(path)
    side.write_bytes(saved)
    assert read_observations(path).order_id.tolist() == [1, 2, 3, 4, 5]


def test_manifest_errors(tmp_path: Path) -> None:
    path = written(tmp_path)
    manifest = orjson.loads(path.read_bytes())
    manifest["columns"]["file"] = "../elsewhere.columns"
    path.write_bytes(orjson.dumps(manifest))
    assert "columns.file must be a file name" in error(path)
    manifest["columns"] = "x"
    path.write_bytes(orjson.dumps(manifest))
    assert "columns: missing or not an object" in error(path)
    path = written(tmp_path / "b")
    manifest = orjson.loads(path.read_bytes())
    manifest["orders"]["qty"] = {"$array": {"dtype": "<f8", "offset": 64, "length": 5}}
    path.write_bytes(orjson.dumps(manifest))
    assert "orders.qty: bad array reference" in error(path)
    with pytest.raises(ObservationsFormatError):
        read_document(path)


def test_v1_documents_pass_through_read_document(tmp_path: Path) -> None:
    path = tmp_path / "observations.json"
    path.write_bytes(observations_json(scenario(2).observations()))
    assert read_document(path)["orders"]["order_id"] == [1, 2, 3, 4]
