"""The exit codes of ``charges``: 0 done; 1 workbook or input errors (nothing written); 2
usage errors; 3 with --fail-on-unmatched when rows were unmatched."""

EXIT_OK, EXIT_ERRORS, EXIT_USAGE, EXIT_UNMATCHED = 0, 1, 2, 3
