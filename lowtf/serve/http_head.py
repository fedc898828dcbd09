"""A request's header lines checked as RFC 9112 writes them, before anyone trusts their meaning.

Python's ``http.client.parse_headers`` hands the lines to the ``email`` parser, which is lenient
where HTTP must not be: ``Content-Length : 44`` (space or tab before the colon) is kept under
another name, a line without a colon ends the headers there (dropping a ``Content-Length`` after
it), and a line starting with whitespace (obs-fold) is glued to the header before it. Each way
hides a body's length, so a GET's body would be read as a second request: request smuggling
behind any proxy that reads the header as written. RFC 9112 section 5.1 says a server must
answer 400 to whitespace before the colon, section 5.2 lets it refuse obs-fold; we refuse every
line that is not ``field-name ":" OWS field-value OWS``, and close the connection.

    problem = field_problem([b"Host: x\\r\\n", b"Content-Length : 4\\r\\n"])   # "... before its colon ..."

The lines are read by ``read_lines`` (http.client's limits) and, once checked, kept in ``Fields``,
which answers what the server asks of them (``get``, ``get_all``) as http.server's
``email.message.Message`` does; the email parser took ~80 us of a ~700 us request.
"""
from __future__ import annotations

import re
from http.client import HTTPException, LineTooLong
from typing import Iterable, Optional

MAX_LINE = 65536        # http.client's _MAXLINE and _MAXHEADERS, which http.server applies
MAX_FIELDS = 100

# field-name = token (RFC 9110 5.1); tchar as in RFC 9110 5.6.2
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# field-value: visible characters, obs-text, space and tab; no other control character
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
# a line line_problem passes, in one match (the common case, checked first)
_GOOD_LINE = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[^\x00-\x08\x0a-\x1f\x7f]*(?:\r\n|\n)?")


def _shown(line: bytes) -> str:
    text = line[:60].decode("latin-1")
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text) + ("..." if len(line) > 60 else "")


def line_problem(line: bytes) -> Optional[str]:
    """What is wrong with one header line (its line ending included or not), or None."""
    if line.endswith(b"\r\n"):
        line = line[:-2]
    elif line.endswith(b"\n"):
        line = line[:-1]
    if line[:1] in (b" ", b"\t"):
        return (f"the header line '{_shown(line)}' starts with whitespace (obs-fold, RFC 9112 section 5.2); "
                "write each header on one line")
    name, colon, value = line.partition(b":")
    if not colon:
        return f"the header line '{_shown(line)}' has no colon; write 'Name: value'"
    if name.rstrip(b" \t") != name and _TOKEN.fullmatch(name.rstrip(b" \t")):
        return (f"whitespace between the header name '{_shown(name.rstrip())}' and its colon "
                f"(RFC 9112 section 5.1); write '{_shown(name.rstrip())}: value'")
    if not _TOKEN.fullmatch(name):
        return f"the header name '{_shown(name)}' is not a token (letters, digits and !#$%&'*+-.^_`|~)"
    if _BAD_VALUE.search(value):
        return f"the header '{_shown(name)}' holds a control character in its value"
    return None


def field_problem(lines: Iterable[bytes]) -> Optional[str]:
    """The first problem among a request's header lines (the blank line that ends them may be
    included), as a message for a 400, or None when every line is well formed."""
    for line in lines:
        if line in (b"\r\n", b"\n", b""):
            break
        if _GOOD_LINE.fullmatch(line):
            continue
        problem = line_problem(line)
        if problem:
            return "Malformed request: " + problem
    return None


def read_lines(rfile) -> list[bytes]:
    """A request's header lines, up to and including the blank line that ends them (or b"" at the end
    of the stream), within http.client's limits: LineTooLong or HTTPException past them (431)."""
    lines = []
    while True:
        line = rfile.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise LineTooLong("header line")
        lines.append(line)
        if len(lines) > MAX_FIELDS:
            raise HTTPException(f"got more than {MAX_FIELDS} headers")
        if line in (b"\r\n", b"\n", b""):
            return lines


class Fields:
    """Header fields from lines ``field_problem`` passed, looked up as ``email.message.Message``
    does: names without regard to case, ``get`` gives the first value, ``get_all`` every one;
    values are latin-1 text without the whitespace after the colon or the line ending."""

    def __init__(self, lines: Iterable[bytes]):
        self._fields = []
        for line in lines:
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            self._fields.append((name.lower(), name, value.lstrip(" \t").rstrip("\r\n")))

    def get(self, name: str, default=None):
        key = name.lower()
        return next((value for k, _, value in self._fields if k == key), default)

    def get_all(self, name: str, failobj=None):
        key = name.lower()
        return [value for k, _, value in self._fields if k == key] or failobj

    def __getitem__(self, name: str):
        return self.get(name)

    def __contains__(self, name: str) -> bool:
        return self.get(name) is not None

    def items(self) -> list[tuple[str, str]]:
        return [(name, value) for _, name, value in self._fields]

    def __len__(self) -> int:
        return len(self._fields)
