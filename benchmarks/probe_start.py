"""Probe: one process start to first paint, on a real terminal (the parent's pseudo-terminal).

    BENCH_STAMP=FILE python -m benchmarks.probe_start ours --server URL --offline
    BENCH_STAMP=FILE python -m benchmarks.probe_start bare

``ours`` runs the real command line (``incidenttui.cli.main``, as the ``incidenttui`` script
does) and stamps the first frame that shows a cached incident in the queue. ``bare`` is the
baseline: a Textual app that paints one ``Label``, stamped the same way. Both write
``time.monotonic()`` (one clock for every process on the machine) of the first paint and
the process's CPU time (user + system) when that frame was written to FILE and leave at
once, so the parent reads process start → first paint. Nothing here is imported that the app
would not import before its first paint anyway.
"""

from __future__ import annotations

import os
import resource
import sys

from benchmarks.paint import CLOCK


def _stamp_and_leave() -> None:
    original = CLOCK.frames.append
    #: frame stamp → CPU seconds of this process when the frame had been written
    cpu: dict[float, float] = {}

    def append(stamp: float) -> None:
        original(stamp)
        if CLOCK.first_paint is not None:  # set by the frame before this one
            with open(os.environ["BENCH_STAMP"], "w") as fh:
                fh.write(f"{CLOCK.first_paint!r} {cpu.get(CLOCK.first_paint, 0.0)!r}")
            os._exit(0)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu[stamp] = usage.ru_utime + usage.ru_stime

    CLOCK.frames.append = append  # type: ignore[method-assign]


class _Frames(list):  # a list whose append can be replaced
    pass


def main() -> None:
    kind, argv = sys.argv[1], sys.argv[2:]
    if kind == "ours":
        # Before Textual, as the ``incidenttui`` script imports it (the package sets Textual's
        # frame rate, read once when Textual is imported): the clock would import it first.
        import incidenttui  # noqa: F401
    CLOCK.frames = _Frames()
    _stamp_and_leave()
    CLOCK.install()
    if kind == "ours":
        from benchmarks.paint import hook_queue_view

        hook_queue_view()
        from incidenttui.cli import main as cli_main

        sys.exit(cli_main(argv))
    from textual.app import App, ComposeResult
    from textual.widgets import Label

    class MarkedLabel(Label):
        def render(self):  # type: ignore[no-untyped-def]
            CLOCK.content()
            return super().render()

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            yield MarkedLabel("incidenttui")

    Bare().run()


if __name__ == "__main__":
    main()
