"""The README's workbook reference is generated from the schemas and kept in step."""

from pathlib import Path

import pytest

from processor.docs import SECTIONS, markers, workbook_reference

README = Path(__file__).parent.parent / "README.md"


@pytest.mark.parametrize("name", sorted(SECTIONS))
def test_readme_generated_sections_are_current(name):
    text = README.read_text(encoding="utf-8")
    start, end = markers(name)
    section = text[text.index(start) + len(start) : text.index(end)]
    assert section.strip() == SECTIONS[name]().strip(), "run `make docs`"


def test_reference_names_every_sheet_and_column():
    from schemas.workbooks import SHEETS

    doc = workbook_reference()
    for name, schema in SHEETS.items():
        assert f"**{name}**" in doc
        for column in schema.columns:
            assert f"| {column} |" in doc
