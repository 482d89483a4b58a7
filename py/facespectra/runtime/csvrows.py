"""The results CSV's rules, kept once: its columns and how a cell is made safe to open in a spreadsheet.

The CLI writes its CSV with these; the page's export gets the same columns and formula characters
through worker_api.info(), so the two files cannot drift apart.
"""

COLUMNS = ("path", "label", "verdict", "p_fake", "reason", "flags", "faces", "error", "advice", "detectors")
# RFC 4180's line end, as the page writes: Python's csv module then also quotes a cell holding a lone CR.
LINE_END = "\r\n"
# A spreadsheet runs a cell that starts with one of these as a formula (or, for tab and CR, may shift
# it into one): such cells get a leading apostrophe, OWASP's advice against CSV injection.
FORMULA_START = "=+-@\t\r"


def defuse(text):
    """The cell's text, with a leading apostrophe when a spreadsheet would read it as a formula."""
    return "'" + text if text[:1] and text[0] in FORMULA_START else text


def cell_text(column, value):
    """One value as CSV text: nothing for a missing value, lists of flags joined by ';', a list of faces
    by its count, probabilities at full precision (repr round-trips)."""
    if value is None:
        return ""
    if column == "faces" and isinstance(value, (list, tuple)):
        return str(len(value))
    if isinstance(value, (list, tuple)):
        return ";".join(map(str, value))
    if isinstance(value, float):
        return repr(value)
    return str(value)


def csv_cells(row):
    """A result row (a dict with any of COLUMNS; the ones it lacks are written empty) -> its safe cells."""
    return [defuse(cell_text(column, row.get(column))) for column in COLUMNS]
