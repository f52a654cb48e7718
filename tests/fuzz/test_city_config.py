"""City configuration files (data/city.py): the demo city's city.yaml mutated at random — a
value replaced by one of any type (NaN and infinities included), a key dropped or added, an id
repeated — and files that are not YAML at all.

Property: load_city() either gives a city whose every value is valid (it validates again, its
time zone exists, no number is NaN or infinite), or raises CityConfigError whose message names
the file. Never another exception (a traceback at start), never a half-loaded city."""

from __future__ import annotations

import copy
import math
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import example, given, note
from hypothesis import strategies as st

from data.city import CityConfig, CityConfigError, load_city
from settings import PROJECT_ROOT
from tests.fuzz.strategies import json_values, storable

PRABUMULIH = PROJECT_ROOT / "data" / "cities" / "prabumulih"
ORIGINAL = yaml.safe_load((PRABUMULIH / "city.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("city") / "kota"
    shutil.copytree(PRABUMULIH, target)
    return target


def paths(node: object, prefix: tuple = ()) -> list[tuple]:
    """Every path to a value in the YAML tree."""
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += paths(value, (*prefix, index))
    return found


ALL_PATHS = paths(ORIGINAL)
yaml_values = json_values.filter(
    lambda v: all(storable(s) for s in _strings(v))
)  # YAML cannot write lone surrogates; the parser never produces them either


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


@st.composite
def mutated(draw: st.DrawFn) -> dict:
    raw = copy.deepcopy(ORIGINAL)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(ALL_PATHS))
        parent = raw
        try:
            for step in path[:-1]:
                parent = parent[step]
            kind = draw(st.sampled_from(["replace", "delete", "add", "duplicate"]))
            if kind == "replace":
                parent[path[-1]] = draw(
                    yaml_values
                    | st.sampled_from([math.nan, math.inf, -math.inf, 10**400, "Mars/Olympus"])
                )
            elif kind == "delete":
                del parent[path[-1]]
            elif kind == "add" and isinstance(parent, dict):
                parent[draw(st.text(max_size=8))] = draw(yaml_values)
            elif kind == "duplicate" and isinstance(parent, list):
                parent.append(copy.deepcopy(parent[path[-1]]))
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or replaced this path
    return raw


def check_loads_or_explains(folder: Path, text: bytes | str) -> None:
    target = folder / "city.yaml"
    if isinstance(text, str):
        target.write_text(text, encoding="utf-8")
    else:
        target.write_bytes(text)
    try:
        city = load_city(folder)
    except CityConfigError as error:
        assert str(error).startswith(str(folder)), error
        return
    config = city.config
    CityConfig.model_validate(config.model_dump())
    ZoneInfo(config.timezone)
    numbers = [v for v in _numbers(config.model_dump())]
    assert all(math.isfinite(v) for v in numbers), "NaN or infinity in a loaded city"


def _numbers(value: object) -> list[float]:
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers(v)]
    if isinstance(value, list | tuple):
        return [n for v in value for n in _numbers(v)]
    return []


@given(raw=mutated())
def test_a_mutated_city_file_loads_whole_or_is_explained(folder, raw):
    text = yaml.safe_dump(raw, allow_unicode=True)
    note(text[:2000])
    check_loads_or_explains(folder, text)


@given(
    text=st.binary(max_size=300)
    | st.text(max_size=300)
    | st.integers(1, 3000).map(lambda n: "a: " + "[" * n + "]" * n)
    | st.integers(1, 300).map(lambda n: "a:\n" + "".join(" " * i + "- \n" for i in range(n)))
    | st.just(yaml.safe_dump(ORIGINAL)).flatmap(
        lambda whole: st.integers(0, len(whole)).map(lambda cut: whole[:cut])
    )
)
@example(text=b"\xff\xfe\x00k\x00o\x00d\x00e")  # UTF-16
@example(text="kode: !!python/object/apply:os.system ['true']")
@example(text="a: &a [1, 2]\nb: [*a, *a]")
def test_any_file_content_loads_whole_or_is_explained(folder, text):
    check_loads_or_explains(folder, text)


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (lambda raw: raw.update(timezone="Asia/Atlantis"), "timezone"),
        (lambda raw: raw.update(center=[math.nan, 104.2]), "center"),
        (lambda raw: raw["kpis"][0].update(target=math.inf), "target"),
        (lambda raw: raw["boundaries"].update(kecamatan="boundaries"), "boundaries"),  # a folder
        (lambda raw: raw["boundaries"].update(kecamatan="city.yaml"), "not valid JSON"),
        (lambda raw: raw["boundaries"].update(kecamatan="nul\x00"), "cannot be read"),
    ],
)
def test_regressions(folder, edit, says):
    """Found by the properties above (issue 7): each loaded a half-valid city or raised
    something other than CityConfigError."""
    raw = copy.deepcopy(ORIGINAL)
    edit(raw)
    (folder / "city.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CityConfigError) as caught:
        load_city(folder)
    assert says in str(caught.value)


def test_a_boundary_file_that_is_json_but_not_an_object(folder, tmp_path):
    (folder / "boundaries" / "list.geojson").write_text("[1, 2]", encoding="utf-8")
    raw = copy.deepcopy(ORIGINAL)
    raw["boundaries"]["kecamatan"] = "boundaries/list.geojson"
    (folder / "city.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CityConfigError, match="FeatureCollection"):
        load_city(folder)
