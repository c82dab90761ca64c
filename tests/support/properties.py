"""Hypothesis generators of bad inputs, and the settings the catalogue's properties run with.

The properties run derandomized (the same examples on every run, so CI is steady and a
failure replays); ``HYPOTHESIS_PROFILE=explore`` draws new ones for a search."""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

settings.register_profile(
    "badinput",
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "explore", parent=settings.get_profile("badinput"), derandomize=False, max_examples=5000
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "badinput"))

#: Text a number field might hold: numbers of every size and shape, and what is none.
NUMBER_TEXT = st.one_of(
    st.sampled_from(
        ["0", "-1", "1e309", "-1e309", "1e30", "NaN", "-NaN", "sNaN", "Infinity", "-Infinity",
         "", " ", "1,5", "0x10", "١٢٣", "1e", "--5", "9" * 40, "0.0000001", "1" + "0" * 20]
    ),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.text(max_size=12),
)  # fmt: skip

#: Any JSON value, nested a little: what a field of an API answer may turn out to be.
JSON_VALUES: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=20)
    | NUMBER_TEXT,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
