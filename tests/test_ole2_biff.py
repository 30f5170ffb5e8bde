"""The bounded readers of compound files and BIFF record streams, fed anything."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from testrota.roster.biff import read_biff
from testrota.roster.ole2 import read_compound, write_compound
from tests.damaged_files import CRAFTED_XLS, OFFICE, workbook_stream


def test_a_rebuilt_container_holds_the_same_stream() -> None:
    stream = workbook_stream(200)
    compound = read_compound(write_compound({"Workbook": stream}))
    assert compound.names == {"Root Entry", "Workbook"}
    assert compound.stream("Workbook")[: len(stream)] == stream


def test_every_crafted_loop_is_a_value_error() -> None:
    for build in CRAFTED_XLS.values():
        try:
            read_compound(build())
        except ValueError as exc:
            assert "loops" in str(exc) or "larger than the file" in str(exc), exc
        else:
            raise AssertionError(f"{build.__name__} was accepted")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_the_container_and_record_readers_only_ever_say_damaged(data: st.DataObject) -> None:
    source = (OFFICE / "roster.xls").read_bytes()
    mutated = bytearray(source)
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(mutated) - 1))
        mutated[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(mutated)))
    try:
        compound = read_compound(bytes(mutated[:cut]))
        name = compound.find("Workbook", "Book")
        if name is not None:
            read_biff(compound.stream(name))
    except ValueError:
        pass  # DamagedContainer, DamagedWorkbook, EncryptedWorkbook


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_the_record_reader_survives_any_stream(data: st.DataObject) -> None:
    stream = bytearray(workbook_stream())
    for _ in range(data.draw(st.integers(1, 12))):
        at = data.draw(st.integers(0, len(stream) - 1))
        stream[at] = data.draw(st.integers(0, 255))
    try:
        book = read_biff(bytes(stream))
    except ValueError:
        return
    assert all(s.rows <= 65536 and s.columns <= 65536 for s in book.sheets)
