"""Templates: fields, fallbacks, literal braces and spintax, rendered the same for the same
seed."""

from __future__ import annotations

import pytest

from scheduler.templates import compile_template


def test_a_fallback_fills_an_empty_cell_only() -> None:
    template = compile_template("Hi {first_name|there}, {company}!")
    assert (template.fields, template.required) == (("first_name", "company"), ("company",))
    assert template.render({"first_name": "", "company": "Acme"}) == "Hi there, Acme!"
    assert template.render({"first_name": "Ann", "company": "Acme"}) == "Hi Ann, Acme!"


def test_a_field_used_once_without_fallback_is_required() -> None:
    assert compile_template("{a|x} and {a}").required == ("a",)
    assert compile_template("{a|}").render({"a": ""}) == ""


def test_spintax_draws_one_option_per_group_from_the_seed() -> None:
    template = compile_template("[[Hi|Hello]] {name}, [[see you|bye|ciao]] {{ok}}")
    seen = {template.render({"name": "Jo"}, seed) for seed in range(6)}
    assert len(seen) == 6  # two groups: 2 x 3 combinations, one per seed
    assert all(text.endswith(" {ok}") for text in seen)
    assert template.render({"name": "Jo"}, 4) == template.render({"name": "Jo"}, 4)


def test_double_brackets_without_a_choice_are_text() -> None:
    assert compile_template("see [[the doc]]").render({}) == "see [[the doc]]"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("{0}", "{0} is not a field"),
        ("{a.b}", "{a.b} is not a field"),
        ("{x:>3}", "{x:>3} is not a field"),
        ("a } b", "single '}'"),
        ("{open", "'{' without its '}'"),
        ("[[a|[[b|c]]]]", "cannot be nested"),
    ],
)
def test_a_mistake_says_how_to_write_it(text: str, says: str) -> None:
    with pytest.raises(ValueError) as raised:
        compile_template(text)
    assert says in str(raised.value)


def test_a_fallback_inside_double_brackets_is_no_spin() -> None:
    template = compile_template("[[{first_name|there}]]")
    assert template.spins == 0
    assert template.render({"first_name": ""}) == "[[there]]"
