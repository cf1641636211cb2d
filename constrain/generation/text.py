"""Turn token bytes into text that is safe to show: whole UTF-8 characters, no stop strings.

Text is released only up to the point where it can no longer change: bytes of an unfinished
UTF-8 character are held, and so is any tail that could still grow into a stop string.
Invalid UTF-8 becomes U+FFFD (the same in streamed and whole output).
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable

from constrain.errors import SamplingError


def normalize_stops(stop: str | Iterable[str] | None) -> list[str]:
    if stop is None:
        return []
    stops = [stop] if isinstance(stop, str) else list(stop)
    for s in stops:
        if not isinstance(s, str):
            raise SamplingError(f"stop strings must be str, got {type(s).__name__}: {s!r}")
    return [s for s in stops if s]


class TextAssembler:
    """Feed token bytes; get back the text that may be released now."""

    def __init__(self, stops: Iterable[str] = ()):
        self.stops = list(stops)
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.text = ""        # decoded so far (cut at a stop string once one is seen)
        self.released = 0     # characters of self.text handed out
        self.stopped = False  # a stop string was found

    def _held_tail(self) -> int:
        """Length of the longest tail of the unreleased text that is a proper prefix of a stop."""
        pending = self.text[self.released:]
        best = 0
        for stop in self.stops:
            for n in range(min(len(stop) - 1, len(pending)), best, -1):
                if pending.endswith(stop[:n]):
                    best = n
                    break
        return best

    def _find_stop(self) -> int:
        """Start of the stop string that completes first in the unreleased text, or -1.

        "Completes first" (earliest end, then earliest start) is what a character-by-character
        check would find, so the cut does not depend on how the bytes were chunked into tokens.
        """
        best = None
        for stop in self.stops:
            at = self.text.find(stop, self.released)
            if at != -1:
                key = (at + len(stop), at)
                if best is None or key < best:
                    best = key
        return -1 if best is None else best[1]

    def _release(self, upto: int) -> str:
        released = self.text[self.released:upto]
        self.released = upto
        return released

    def feed(self, data: bytes) -> str:
        if self.stopped:
            return ""
        self.text += self._decoder.decode(data)
        at = self._find_stop()
        if at != -1:
            self.stopped = True
            self.text = self.text[:at]
            return self._release(at)
        return self._release(len(self.text) - self._held_tail())

    def finish(self) -> str:
        """Flush at the end of generation: whatever is held can no longer become a stop."""
        if self.stopped:
            return ""
        self.text += self._decoder.decode(b"", final=True)
        at = self._find_stop()
        if at != -1:
            self.stopped = True
            self.text = self.text[:at]
            return self._release(at)
        return self._release(len(self.text))
