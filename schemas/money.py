"""Money as every stage holds it, defined once.

A value read from an export or a workbook is held at 6 decimal places (half away from
zero) in an Arrow decimal128(38, 6); its magnitude stays below 10^12, so 38 digits leave
room for any sum of held values.
"""

from decimal import ROUND_HALF_UP, Context, Decimal

import pyarrow

PLACES = 6  # decimal places a value is held at
HELD = pyarrow.decimal128(38, PLACES)  # the Arrow type of every held value
QUANTUM = Decimal(1).scaleb(-PLACES)  # 0.000001
LIMIT = Decimal(10) ** 12  # the largest magnitude any number may have
EXACT = Context(prec=80, rounding=ROUND_HALF_UP)  # wide enough that no digit is lost
