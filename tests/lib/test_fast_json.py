"""The import's hand-built JSON agrees with the json module."""

import json

from hypothesis import given
from hypothesis import strategies as st

from ablesung.lib.fast_json import raw_json

cells = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=20)


@given(st.lists(cells, max_size=25))
def test_raw_json_is_json_of_the_cells(row: list[str]) -> None:
    assert json.loads(raw_json(row)) == row
