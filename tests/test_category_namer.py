"""A page names categories from one reading of the vocabulary, however many rows it has."""

from __future__ import annotations

from types import SimpleNamespace

from testrota.web.render import category_namer


class CountingApp:
    """The app's one attribute the namer uses, counting how often the vocabulary is read."""

    def __init__(self) -> None:
        self.reads = 0

    @property
    def vocabulary(self) -> SimpleNamespace:
        self.reads += 1
        return SimpleNamespace(name=lambda code, lang: f"{code}:{lang}")


def test_a_page_of_rows_reads_the_vocabulary_once() -> None:
    app = CountingApp()
    request = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(testrota=app)))
    cat = category_namer(request, "zh")  # type: ignore[arg-type]
    assert [cat(c) for c in ("driver", "", None, "cold_chain", "driver")] == [
        "driver:zh",
        "",
        "",
        "cold_chain:zh",
        "driver:zh",
    ]
    assert app.reads == 1
