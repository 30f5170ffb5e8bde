"""An import's column warnings and cleared fields as lines in the CLI's language.

The roster service keeps their English sentence in ``message`` (for the log and ``--json``);
the command line builds the same sentence from a template, so Chinese reads the same facts and
English reads exactly as before (tests/test_cli_language.py holds the two alike)."""

from __future__ import annotations

from typing import Any

from testrota.cli.lang import current, header, say


def column_warning(warning: Any) -> str:
    """A ``ColumnWarning`` (a column that looks like phones or ID numbers but was not read, or
    a sheet without phones) in the CLI's language; an unknown kind keeps its English."""
    from testrota.roster.sniff import _RENAME, LABELS

    if warning.kind == "unrecognised_column" and warning.looks_like in LABELS:
        return say(
            "sheet {sheet!r}: {column!r} (column {letter}) was not imported, but {share} of its "
            "values look like {what}; if that is what it holds, rename its header to {rename} "
            "and import again",
            sheet=warning.sheet,
            column=warning.column,
            letter=warning.letter,
            share=f"{warning.share or 0:.0%}",
            what=say(LABELS[warning.looks_like]),
            rename=_RENAME[warning.looks_like],
        )
    if warning.kind == "no_phone_column":
        return say(
            "sheet {sheet!r} has no phone column: {n} of its {total} people cannot get "
            "reminder texts",
            sheet=warning.sheet,
            n=warning.people,
            total=warning.of,
        )
    return str(warning.message)


def cleared_field(cleared: Any) -> str:
    """A ``ClearedField`` ("clears the ID number of 3 people") in the CLI's language."""
    field = cleared.label if current() == "en" else header(cleared.field)
    if cleared.people == 1:
        return say("clears the {field} of 1 person", field=field)
    return say("clears the {field} of {n} people", field=field, n=cleared.people)
