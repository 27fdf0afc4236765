"""incidenttui: a terminal incident console for IT operations teams."""

import os

__version__ = "0.1.0"

# Textual redraws at most TEXTUAL_FPS times a second after a change (default 60): a key's
# result waits up to one period before it is drawn. At 120 a filter keystroke's matches reach
# the screen about 8 ms sooner (benchmarks: filter as you type); a frame is still only drawn
# when something changed, so an idle screen sends nothing. Textual reads this once, when it
# is first imported, which is why it is set here; a value the user set is kept.
os.environ.setdefault("TEXTUAL_FPS", "120")
