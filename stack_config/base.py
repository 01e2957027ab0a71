"""Base for every config model: camelCase keys as in Pulumi.<stack>.yaml, unknown keys rejected."""
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class ConfigModel(BaseModel):
    # Stack config is written by hand: a typo ("replica") must be an error, not a silent default.
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        strict=True,
    )
