"""The campaign file and its templates: the documented example loads; every mistake is named."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from scheduler.campaign_file import load_campaign, parse_campaign, parse_duration
from scheduler.templates import compile_template
from worker.errors import CampaignFileError

EXAMPLE = """
name = "q4-founders"
accounts = ["alice", "bob"]
daily_limit = 40
[window]
days = ["mon", "tue", "wed", "thu", "fri"]
hours = "09:00-18:00"

[[steps]]
text = "Hi {first_name}, I saw your work at {company}…"

[[steps]]
after = "3d"
text = "Following up, {first_name}…"

[[steps]]
after = "7d"
text = "Last note from me…"
"""


def test_the_documented_example_loads(tmp_path: Path) -> None:
    path = tmp_path / "campaign.toml"
    path.write_text(EXAMPLE, encoding="utf-8")

    spec = load_campaign(path)

    assert (spec.name, spec.accounts, spec.daily_limit) == ("q4-founders", ("alice", "bob"), 40)
    assert [s.after_s for s in spec.steps] == [0, 3 * 86400, 7 * 86400]
    assert spec.steps[0].template.fields == ("first_name", "company")
    assert spec.window is not None and spec.window.days == frozenset(range(5))
    assert spec.recontact is False


def test_every_problem_is_reported_at_once() -> None:
    document = tomllib.loads("""
accounts = []
daily_limit = 0
colour = "red"
[window]
hours = "late"
[[steps]]
after = "1d"
text = "Hi {first_name:>10}"
[[steps]]
text = "Again"
""")
    with pytest.raises(CampaignFileError) as caught:
        parse_campaign(document, where="campaign.toml")

    fields = [p.field for p in caught.value.problems]
    assert fields == [
        "colour",
        "name",
        "accounts",
        "daily_limit",
        "window",
        "steps[1].text",
        "steps[1].after",
        "steps[2].after",
    ]
    assert str(caught.value).startswith("campaign.toml: colour: unknown key")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("3d", 259200),
        ("12h", 43200),
        ("1d12h", 129600),
        ("90m", 5400),
        ("2w", 1209600),
        ("45s", 45),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "3 days", "d3", "1.5d", "3x"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_a_template_lists_its_fields_and_renders() -> None:
    template = compile_template("Hi {first_name}, {company} {{literally}} {first_name}")
    assert template.fields == ("first_name", "company")
    assert template.render({"first_name": "Jane", "company": "Acme"}) == (
        "Hi Jane, Acme {literally} Jane"
    )


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("Hi {}", "is not a field"),
        ("Hi {0}", "is not a field"),
        ("Hi {user.name}", "is not a field"),
        ("Hi {name!r}", "is not a field"),
        ("Hi {name", "literal braces"),
    ],
)
def test_templates_refuse_anything_but_plain_fields(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        compile_template(text)


def test_the_readmes_complete_campaign_file_loads(tmp_path: Path) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    block = readme.split("A complete campaign file", 1)[1].split("```toml\n", 1)[1]
    path = tmp_path / "campaign.toml"
    path.write_text(block.split("```", 1)[0], encoding="utf-8")

    spec = load_campaign(path)

    assert spec.columns == {
        "first_name": "First Name",
        "company": "Company Name",
        "linkedin_url": "LinkedIn Profile",
    }
    first, second, third = spec.steps
    assert first.template.spins == 1 and first.required == ["company"]
    assert [(v.name, v.weight) for v in second.variants] == [("deck", 2.0), ("question", 1.0)]
    assert third.media_link == "https://example.com/video.mp4"


def test_a_step_takes_one_media_and_no_attachments(tmp_path: Path) -> None:
    (tmp_path / "deck.pdf").write_bytes(b"%PDF")
    path = tmp_path / "campaign.toml"
    path.write_text(
        'name = "m"\naccounts = ["a"]\n[[steps]]\ntext = "Hi"\n'
        'media_link = "https://example.com/a.pdf"\nmedia_file = "deck.pdf"\n'
        'attachments = ["deck.pdf"]\n',
        encoding="utf-8",
    )
    with pytest.raises(CampaignFileError) as caught:
        load_campaign(path)
    assert [p.field for p in caught.value.problems] == [
        "steps[1].attachments",
        "steps[1].media_file",
    ]
    assert "upload-attachment endpoint" in caught.value.problems[0].message
    assert "not both" in caught.value.problems[1].message


@pytest.mark.parametrize("name", ["../secret.txt", "/etc/hostname", "sub/../../secret.txt"])
def test_a_media_file_outside_the_campaign_folder_is_refused(tmp_path: Path, name: str) -> None:
    folder = tmp_path / "campaign"
    folder.mkdir()
    (tmp_path / "secret.txt").write_text("not for LinkedIn", encoding="utf-8")
    path = folder / "campaign.toml"
    path.write_text(
        f'name = "m"\naccounts = ["a"]\n[[steps]]\ntext = "Hi"\nmedia_file = "{name}"\n',
        encoding="utf-8",
    )
    with pytest.raises(CampaignFileError) as caught:
        load_campaign(path)
    (problem,) = caught.value.problems
    assert problem.field == "steps[1].media_file" and "outside the campaign file's folder" in str(
        problem
    )
