"""A marker for "this field was not sent", distinct from an explicit null."""

from enum import Enum
from typing import Final, Literal


class _Unset(Enum):
    UNSET = "UNSET"


UNSET: Final = _Unset.UNSET
Unset = Literal[_Unset.UNSET]
