"""The great_expectations names the suites use, imported from the modules that define them.

great_expectations re-exports them from ``great_expectations.expectations`` without ``__all__``,
which strict mypy does not accept as an export; importing them once here keeps the suites typed.
"""

from great_expectations.expectations.core.expect_column_pair_values_a_to_be_greater_than_b import (
    ExpectColumnPairValuesAToBeGreaterThanB,
)
from great_expectations.expectations.core.expect_column_values_to_be_between import (
    ExpectColumnValuesToBeBetween,
)
from great_expectations.expectations.core.expect_column_values_to_not_be_null import (
    ExpectColumnValuesToNotBeNull,
)
from great_expectations.expectations.core.expect_compound_columns_to_be_unique import (
    ExpectCompoundColumnsToBeUnique,
)
from great_expectations.expectations.expectation import Expectation

__all__ = [
    "ExpectColumnPairValuesAToBeGreaterThanB",
    "ExpectColumnValuesToBeBetween",
    "ExpectColumnValuesToNotBeNull",
    "ExpectCompoundColumnsToBeUnique",
    "Expectation",
]
