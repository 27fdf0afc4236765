"""The stock baseline for bytes per cursor move: Header + DataTable + Footer, run for real.

    python -m benchmarks.probe_datatable_app STORE

A plain Textual app as its tutorial shows it (``App.run()`` with Textual's defaults), holding
the store's incidents in a row-cursor ``DataTable`` with the same cell texts as our queue. The
benchmark drives it on a pseudo-terminal with the down arrow.
"""

from __future__ import annotations

import sys
from pathlib import Path

from textual.app import App, ComposeResult
from textual.widgets import DataTable, Footer, Header

from benchmarks.probe_queue import COLUMNS, _load_rows


class DataTableApp(App[None]):
    TITLE = "incidents"
    BINDINGS = [("ctrl+q", "quit", "Quit")]

    def __init__(self, store: Path) -> None:
        super().__init__()
        self.store = store

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(*COLUMNS)
        table.add_rows([cells for _, cells in _load_rows(self.store)])
        table.focus()


if __name__ == "__main__":
    DataTableApp(Path(sys.argv[1])).run()
