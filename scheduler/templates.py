"""Message templates: `{first_name}`-style fields, nothing more (no format specs, no attribute
or index access), so a template can neither fail at send time nor reach into objects."""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Template:
    text: str
    fields: tuple[str, ...]  # in order of first use

    def render(self, values: Mapping[str, str]) -> str:
        """The text with every field filled in; the caller has checked they are all present."""
        return self.text.format_map(values)


def compile_template(text: str) -> Template:
    """Parse `text`; ValueError says what is wrong with a field and how to write it instead."""
    fields: list[str] = []
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ValueError(f"{exc}; write {{{{ and }}}} for literal braces") from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            shown = (
                "{"
                + name
                + (f"!{conversion}" if conversion else "")
                + (f":{spec}" if spec else "")
                + "}"
            )
            raise ValueError(f"{shown} is not a field; use a CSV column name like {{first_name}}")
        if name not in fields:
            fields.append(name)
    return Template(text, tuple(fields))
