"""xlsx workbooks written as SpreadsheetML."""
