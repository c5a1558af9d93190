"""Request fields shared by the resources' schemas."""

import marshmallow as ma


class StrictBoolean(ma.fields.Boolean):
    """A JSON true or false, as the document says: not 0/1, "yes" or "on"."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            return value
        raise self.make_error("invalid")


def QueryBoolean(**kwargs) -> ma.fields.Boolean:  # named like the field classes it stands beside
    """A boolean in a query string: true/false (or 1/0)."""
    return ma.fields.Boolean(truthy={"true", "1"}, falsy={"false", "0"}, **kwargs)
