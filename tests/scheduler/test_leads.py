"""The recipients CSV: good rows stream through, every mistake comes back with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from scheduler.leads import Lead, LeadError, read_leads


def _leads(tmp_path: Path, data: bytes, fields: tuple[str, ...] = ("first_name",)) -> list[object]:
    path = tmp_path / "leads.csv"
    path.write_bytes(data)
    return list(read_leads(path, fields))


def test_good_rows_become_leads(tmp_path: Path) -> None:
    data = (
        "\ufefflinkedin_url,first_name,company\n"
        "https://www.linkedin.com/in/jane-doe,Jane,Acme\n"
        "\n"
        '"https://www.linkedin.com/in/sam-roe","Sam","Roe, Inc."\n'
    ).encode()
    [jane, sam] = _leads(tmp_path, data, ("first_name", "company"))
    assert isinstance(jane, Lead) and isinstance(sam, Lead)
    assert (jane.line, jane.values["first_name"]) == (2, "Jane")
    assert (sam.line, sam.values["company"]) == (4, "Roe, Inc.")
    assert sam.recipient.value == "https://www.linkedin.com/in/sam-roe"


def test_a_file_full_of_mistakes_reports_each_with_its_line(tmp_path: Path) -> None:
    data = (
        b"linkedin_url,first_name\n"
        b"https://www.linkedin.com/in/jane-doe,Jane\n"
        b"https://www.linkedin.com/in/sam-roe,\n"  # 3: empty variable
        b"https://www.linkedin.com/in/jane-doe/,Janet\n"  # 4: duplicate of line 2
        b"not a profile,Max\n"  # 5: not a recipient
        b"https://www.linkedin.com/in/ana,Ana,extra\n"  # 6: too many cells
        b"https://www.linkedin.com/in/jos\xe9,Jos\xe9\n"  # 7: Latin-1, not UTF-8
        b'"https://www.linkedin.com/in/lee","Lee\n'  # 8-9: one record over two lines
        b'Kim"\n'
        b"https://www.linkedin.com/in/kai,Kai\n"  # 10: fine
    )
    results = _leads(tmp_path, data)
    errors = [(r.line, r.column) for r in results if isinstance(r, LeadError)]
    good = [r.line for r in results if isinstance(r, Lead)]
    assert errors == [
        (3, "first_name"),
        (4, "linkedin_url"),
        (5, "linkedin_url"),
        (6, None),
        (7, None),
    ]
    assert good == [2, 8, 10]
    messages = {r.line: r.describe("leads.csv") for r in results if isinstance(r, LeadError)}
    assert messages[3] == (
        "leads.csv: line 3, column first_name: empty, but a template uses it"
        " (or give a fallback: {first_name|…})"
    )
    assert "same recipient as line 2" in messages[4]
    assert "not UTF-8" in messages[7]


def test_a_header_without_a_recipient_column(tmp_path: Path) -> None:
    [error] = _leads(tmp_path, b"name,first_name\nx,y\n")
    assert isinstance(error, LeadError) and error.line == 1
    assert "linkedin_url, profile_urn, profile_id" in error.message


def test_a_header_missing_a_template_column(tmp_path: Path) -> None:
    [error] = _leads(tmp_path, b"profile_urn\nurn:li:person:ACoAAx\n", ("first_name", "company"))
    assert isinstance(error, LeadError)
    assert "the header lacks: first_name, company (add them, or map them" in error.message


def test_an_empty_file(tmp_path: Path) -> None:
    [error] = _leads(tmp_path, b"")
    assert isinstance(error, LeadError) and "empty" in error.message


@pytest.mark.parametrize(
    "value",
    [
        "none",
        "n/a",
        "TBD",
        "not-a-url",
        "-",
        "jane@example.com",
        "linkedin.com/company/x",
        "urn:li:fsd_profile:ACoAAFHoUZgB6wGz0HEW1MdqGW45NI4e-JhvGqQ",
    ],
)
def test_what_is_not_a_profile_url_is_refused_in_linkedin_url_with_its_line(
    tmp_path: Path, value: str
) -> None:
    data = f"linkedin_url,first_name\nhttps://www.linkedin.com/in/jane,Jane\n{value},X\n"
    [jane, error] = _leads(tmp_path, data.encode())
    assert isinstance(jane, Lead) and isinstance(error, LeadError)
    assert error.describe("leads.csv") == (
        f"leads.csv: line 3, column linkedin_url: {value!r} is not a LinkedIn profile URL:"
        " expected https://www.linkedin.com/in/NAME"
    )


@pytest.mark.parametrize(
    ("column", "good", "wrong"),
    [
        ("linkedin_url", "linkedin.com/in/jane", "jane"),
        ("profile_urn", "urn:li:person:ACoAAbc", "https://www.linkedin.com/in/jane"),
        ("profile_urn", "ACoAAFHoUZgB6wGz0HEW1MdqGW45NI4e-JhvGqQ", "none"),
        ("profile_id", "jane", "https://www.linkedin.com/in/jane"),
        ("profile_id", "jane", "urn:li:person:ACoAAbc"),
    ],
)
def test_each_recipient_column_takes_only_its_own_form(
    tmp_path: Path, column: str, good: str, wrong: str
) -> None:
    data = f"{column},first_name\n{good},A\n{wrong},B\n"
    [lead, error] = _leads(tmp_path, data.encode())
    assert isinstance(lead, Lead) and isinstance(error, LeadError)
    assert (lead.line, error.line, error.column) == (2, 3, column)


@pytest.mark.parametrize(
    ("column", "first", "again"),
    [
        ("linkedin_url", "https://www.linkedin.com/in/jane-doe", "linkedin.com/in/Jane-Doe/"),
        (
            "linkedin_url",
            "https://www.linkedin.com/in/jérôme-x",
            "fr.linkedin.com/in/J%c3%a9R%C3%B4ME-X",
        ),
        ("profile_id", "jane-doe", "JANE-DOE"),
    ],
)
def test_case_and_encoding_variants_on_two_rows_are_duplicates(
    tmp_path: Path, column: str, first: str, again: str
) -> None:
    data = f"{column},first_name\n{first},A\n{again},B\n"
    [lead, error] = _leads(tmp_path, data.encode())
    assert isinstance(lead, Lead) and isinstance(error, LeadError)
    assert (error.line, error.column, error.message) == (
        3,
        column,
        "the same recipient as line 2",
    )


def test_a_tab_separated_file_is_read_by_its_header(tmp_path: Path) -> None:
    data = b"first_name\tlinkedin_url\nAnn\thttps://www.linkedin.com/in/ann-tab\n"
    [lead] = _leads(tmp_path, data)
    assert isinstance(lead, Lead)
    assert (lead.values["first_name"], lead.recipient.value) == (
        "Ann",
        "https://www.linkedin.com/in/ann-tab",
    )


def test_a_header_that_is_not_utf8_is_named_as_such(tmp_path: Path) -> None:
    [error] = _leads(tmp_path, b"linkedin_url,pr\xe9nom\nhttps://www.linkedin.com/in/ann,A\n")
    assert isinstance(error, LeadError) and error.line == 1
    assert error.message.startswith("the header: not UTF-8 text")
