"""Model bases and field types shared by every router's models."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool


def _json_number(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a JSON number, not a string or a boolean")  # noqa: TRY004 - pydantic's error
    return value


# A request's booleans and integers must be JSON booleans and numbers: `0` is not false and `"1"`
# is not 1 (a client that sends them has a bug the API should name, not guess around). An
# integer written `5.0` is JSON Schema's integer, and accepted as 5.
Flag = StrictBool
Months = Annotated[int, Field(ge=1, le=36), BeforeValidator(_json_number)]


class Open(BaseModel):
    """An answer that may carry more fields than it names (defined by the catalog, not the API)."""

    model_config = ConfigDict(extra="allow")
