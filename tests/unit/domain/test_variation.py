"""Varied texts: variants and {a|b} choices, drawn from a seed so that a replay shows the same."""

from __future__ import annotations

import pytest

from domain.content import MessageContent, MessageTemplate
from domain.errors import InvalidTemplateError
from domain.variation import pieces


def test_a_choice_is_one_of_its_alternatives_and_fields_stay_fields() -> None:
    template = MessageTemplate("{Hi|Hello|Hey} {name}!")

    texts = {template.render({"name": "Ann"}, seed=f"attempt-{i}") for i in range(60)}

    assert texts == {"Hi Ann!", "Hello Ann!", "Hey Ann!"}
    assert template.fields() == frozenset({"name"})


def test_the_same_seed_renders_the_same_text() -> None:
    template = MessageTemplate("{Hi|Hello} {name}", variants=("Good day {name}", "{Yo|Hey} {name}"))

    first = [template.render({"name": "Ann"}, seed=f"s{i}") for i in range(30)]
    again = [template.render({"name": "Ann"}, seed=f"s{i}") for i in range(30)]

    assert first == again
    assert len(set(first)) > 2  # the seed does vary the text


def test_each_contact_gets_one_of_the_text_and_its_variants() -> None:
    template = MessageTemplate("A {name}", variants=("B {name}", "C {name}"))

    texts = {template.render({"name": "x"}, seed=str(i))[0] for i in range(60)}

    assert texts == {"A", "B", "C"}


def test_every_variants_fields_are_needed_since_any_may_be_chosen() -> None:
    template = MessageTemplate("Hi {name}", variants=("Hi {first_name}",))

    assert template.fields() == frozenset({"name", "first_name"})
    assert template.missing_for({"name": "Ann"}) == frozenset({"first_name"})


def test_doubled_braces_and_unclosed_ones_are_literal() -> None:
    assert pieces("{{a|b}} {x|y}") == ("{{a|b}} ", ("x", "y"))
    assert MessageTemplate("{{literal}} {a|a}").render({}, seed="s") == "{literal} a"


def test_a_bad_field_in_a_variant_is_refused() -> None:
    with pytest.raises(InvalidTemplateError):
        MessageTemplate("Hi", variants=("Hi {first name}",)).fields()


def test_variants_are_recorded_only_when_there_are_some() -> None:
    plain = MessageContent(MessageTemplate("Hi"))
    varied = MessageContent(MessageTemplate("Hi", variants=("Hello",)))

    assert "variants" not in plain.to_record()
    assert MessageContent.from_record(varied.to_record()) == varied
    assert MessageContent.from_record(plain.to_record()) == plain
