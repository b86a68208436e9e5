"""The README's workbook reference is generated from the schemas and kept in step."""

from pathlib import Path

from processor.docs import END, START, workbook_reference

README = Path(__file__).parent.parent / "README.md"


def test_readme_workbook_reference_matches_the_schemas():
    text = README.read_text(encoding="utf-8")
    section = text[text.index(START) + len(START) : text.index(END)]
    assert section.strip() == workbook_reference().strip(), "run `make docs`"


def test_reference_names_every_sheet_and_column():
    from schemas.workbooks import SHEETS

    doc = workbook_reference()
    for name, schema in SHEETS.items():
        assert f"**{name}**" in doc
        for column in schema.columns:
            assert f"| {column} |" in doc
