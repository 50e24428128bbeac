"""Message templates: `{first_name}` fields, `{first_name|there}` fields with a fallback for an
empty cell, `{{`/`}}` for literal braces, and spintax `[[Hi|Hello|Hey]]` (one option drawn per
recipient). Nothing more (no format specs, no attribute or index access), so a template can
neither fail at send time nor reach into objects.

A template compiles once into parts; rendering joins them, which is what lets a million-row
import render every step of every row in seconds. Draws are not random at render time: the
caller passes a seed derived from the recipient, so the same person always gets the same
option, on the check pass, the write pass and any later `add-leads`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

SPIN_OPEN, SPIN_CLOSE, SPIN_BAR = "[[", "]]", "|"
_FIELDS = re.compile(r"\{[^{}]*\}")


@dataclass(frozen=True)
class Field:
    name: str
    fallback: str | None  # used when the cell is empty; None: the cell must not be empty


@dataclass(frozen=True)
class Spin:
    options: tuple[tuple[Part, ...], ...]


Part = str | Field | Spin


@dataclass(frozen=True)
class Template:
    text: str
    parts: tuple[Part, ...]
    fields: tuple[str, ...]  # every column used, in order of first use
    required: tuple[str, ...]  # the columns used without a fallback: an empty cell is an error
    spins: int  # how many [[…|…]] groups
    # The same as a str.format string, when nothing needs drawing or falling back: rendering
    # a million rows then runs in C.
    simple: str | None = None

    def render(self, values: Mapping[str, str], seed: int = 0) -> str:
        """The text with every field filled in (the caller has checked the required ones are
        not empty) and, for each spintax group, the option `seed` picks."""
        if self.simple is not None:
            return self.simple.format_map(values)
        out: list[str] = []
        _render(self.parts, values, seed, out)
        return "".join(out)


def _render(parts: tuple[Part, ...], values: Mapping[str, str], seed: int, out: list[str]) -> int:
    for part in parts:
        if isinstance(part, str):
            out.append(part)
        elif isinstance(part, Field):
            value = values.get(part.name, "")
            out.append(value if value or part.fallback is None else part.fallback)
        else:
            seed, pick = divmod(seed, len(part.options))
            seed = _render(part.options[pick], values, seed, out)
    return seed


def compile_template(text: str) -> Template:
    """Parse `text`; ValueError says what is wrong and how to write it instead."""
    parts, fields, required, spins = _Parser(text).parse()
    simple = None
    if all(isinstance(p, str) or (isinstance(p, Field) and p.fallback is None) for p in parts):
        simple = "".join(
            p.replace("{", "{{").replace("}", "}}") if isinstance(p, str) else f"{{{p.name}}}"
            for p in parts
            if isinstance(p, str | Field)
        )
    return Template(text, parts, tuple(fields), tuple(required), spins, simple)


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.fields: list[str] = []
        self.required: list[str] = []
        self.spins = 0

    def parse(self) -> tuple[tuple[Part, ...], list[str], list[str], int]:
        parts, end = self._parts(0, inside_spin=False)
        assert end == len(self.text)
        return parts, self.fields, self.required, self.spins

    def _parts(self, at: int, *, inside_spin: bool) -> tuple[tuple[Part, ...], int]:
        """Parts from `at` up to the end, or (in a spin) up to its next `|` or `]]`."""
        text = self.text
        parts: list[Part] = []
        literal: list[str] = []
        while at < len(text):
            if inside_spin and (text.startswith(SPIN_BAR, at) or text.startswith(SPIN_CLOSE, at)):
                break
            if text.startswith("{{", at) or text.startswith("}}", at):
                literal.append(text[at])
                at += 2
            elif text[at] == "{":
                _flush(literal, parts)
                field, at = self._field(at)
                parts.append(field)
            elif text[at] == "}":
                raise ValueError("single '}' encountered; write {{ and }} for literal braces")
            elif text.startswith(SPIN_OPEN, at) and self._is_spin(at):
                if inside_spin:
                    raise ValueError("spintax groups cannot be nested: [[a|[[b|c]]]]")
                _flush(literal, parts)
                spin, at = self._spin(at)
                parts.append(spin)
            else:
                literal.append(text[at])
                at += 1
        _flush(literal, parts)
        return tuple(parts), at

    def _is_spin(self, at: int) -> bool:
        """`[[…|…]]`: a group with a choice in it (a bar outside any field's braces);
        `[[like this]]` and `[[{name|fallback}]]` stay literal text."""
        end = self.text.find(SPIN_CLOSE, at + 2)
        return end != -1 and SPIN_BAR in _FIELDS.sub("", self.text[at + 2 : end])

    def _spin(self, at: int) -> tuple[Spin, int]:
        options: list[tuple[Part, ...]] = []
        at += len(SPIN_OPEN)
        while True:
            option, at = self._parts(at, inside_spin=True)
            options.append(option)
            if self.text.startswith(SPIN_CLOSE, at):
                self.spins += 1
                return Spin(tuple(options)), at + len(SPIN_CLOSE)
            at += len(SPIN_BAR)

    def _field(self, at: int) -> tuple[Field, int]:
        end = self.text.find("}", at)
        if end == -1:
            raise ValueError("'{' without its '}'; write {{ and }} for literal braces")
        inside = self.text[at + 1 : end]
        if "{" in inside:
            raise ValueError(f"{{{inside}}} is not a field; fields do not nest")
        name, bar, fallback = inside.partition("|")
        if not name.isidentifier():
            raise ValueError(
                f"{{{inside}}} is not a field; use a CSV column name like {{first_name}}"
                " or {first_name|there} for a fallback"
            )
        if name not in self.fields:
            self.fields.append(name)
        if not bar and name not in self.required:
            self.required.append(name)
        return Field(name, fallback if bar else None), end + 1


def _flush(literal: list[str], parts: list[Part]) -> None:
    if literal:
        parts.append("".join(literal))
        literal.clear()
