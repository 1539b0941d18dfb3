"""Tab and Shift+Tab in a form of fields (the clip inspector, the export dialog) as priority
bindings, so keys typed ahead land in the field they were typed for.

Textual hands a key to the widget focused when the app takes the key off its queue, and moves
the focus for Tab only when the focused field has looked at the Tab itself and passed it up.
Keys that arrive together (a fast typist, a paste of keys, a slow link delivering a burst, tmux
``send-keys``) were split across the fields: "Tab 1 0" after "-6" in the gain gave a gain of
-61 and a fade-in of 0. A priority binding is run by the app before it takes the next key, so
the focus has moved by then.
"""

from __future__ import annotations

from textual.binding import Binding

FORM_FOCUS_KEYS = [
    Binding("tab", "app.focus_next", "Next field", show=False, priority=True),
    Binding("shift+tab", "app.focus_previous", "Previous field", show=False, priority=True),
]
