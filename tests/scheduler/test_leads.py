"""The recipients CSV: good rows stream through, every mistake comes back with its line."""

from __future__ import annotations

from pathlib import Path

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
    [jane, sam] = _leads(tmp_path, data)
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
    assert messages[3] == "leads.csv: line 3, column first_name: empty, but a template uses it"
    assert "same recipient as line 2" in messages[4]
    assert "not UTF-8" in messages[7]


def test_a_header_without_a_recipient_column(tmp_path: Path) -> None:
    [error] = _leads(tmp_path, b"name,first_name\nx,y\n")
    assert isinstance(error, LeadError) and error.line == 1
    assert "linkedin_url, profile_urn, profile_id" in error.message


def test_a_header_missing_a_template_column(tmp_path: Path) -> None:
    [error] = _leads(tmp_path, b"profile_urn\nurn:li:person:ACoAAx\n", ("first_name", "company"))
    assert isinstance(error, LeadError)
    assert error.message.endswith("first_name, company")


def test_an_empty_file(tmp_path: Path) -> None:
    [error] = _leads(tmp_path, b"")
    assert isinstance(error, LeadError) and "empty" in error.message
