"""`format` values as regular expressions over the decoded string (anchored at both ends).

Each regex accepts a subset of what its RFC allows - never more - so enforcing a format can only
reject exotic spellings, never let an invalid value through. Known narrowings (documented in
docs/json_schema.md): leap seconds only as 23:59:60 in UTC (`Z`/`+00:00`/`-00:00`); hostnames of at
most four labels (so the 253-character limit holds by construction); e-mail addresses as dot-atoms
with a hostname or bracketed IPv4 domain; URIs without IPvFuture literals.
"""

from __future__ import annotations

_DIGIT = "[0-9]"
_HEX = "[0-9a-fA-F]"

# ---- dates (RFC 3339 full-date), with February 29 only in leap years
# Year 0000 is valid RFC 3339 but not a Python date (what the jsonschema checker uses): excluded.
_YEAR = "(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])"
_LEAP_YEAR = "(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
_MONTH_DAY = (
    "(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
    "|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
    "|02-(?:0[1-9]|1[0-9]|2[0-8]))"
)
DATE = f"(?:{_YEAR}-{_MONTH_DAY}|{_LEAP_YEAR}-02-29)"

# ---- times (RFC 3339 full-time): seconds 60 only for 23:59:60 in UTC
_OFFSET = "(?:[Zz]|[+\\-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
_FRACTION = "(?:\\.[0-9]+)?"
_REGULAR_TIME = f"(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]{_FRACTION}{_OFFSET}"
_LEAP_TIME = f"23:59:60{_FRACTION}(?:[Zz]|[+\\-]00:00)"
TIME = f"(?:{_REGULAR_TIME}|{_LEAP_TIME})"
DATE_TIME = f"{DATE}[Tt]{TIME}"

# ---- durations (RFC 3339 appendix A)
_N = "[0-9]+"
_DUR_TIME = f"T(?:{_N}H(?:{_N}M)?(?:{_N}S)?|{_N}M(?:{_N}S)?|{_N}S)"
_DUR_DATE = f"(?:{_N}Y(?:{_N}M(?:{_N}D)?)?|{_N}M(?:{_N}D)?|{_N}D)"
DURATION = f"P(?:{_DUR_DATE}(?:{_DUR_TIME})?|{_DUR_TIME}|{_N}W)"

UUID = f"{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}"

# ---- IP addresses
_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9][0-9]|[0-9])"
IPV4 = f"{_OCTET}(?:\\.{_OCTET}){{3}}"
_H16 = f"{_HEX}{{1,4}}"
_LS32 = f"(?:{_H16}:{_H16}|{IPV4})"
IPV6 = (
    "(?:"
    f"(?:{_H16}:){{6}}{_LS32}"
    f"|::(?:{_H16}:){{5}}{_LS32}"
    f"|(?:{_H16})?::(?:{_H16}:){{4}}{_LS32}"
    f"|(?:(?:{_H16}:){{0,1}}{_H16})?::(?:{_H16}:){{3}}{_LS32}"
    f"|(?:(?:{_H16}:){{0,2}}{_H16})?::(?:{_H16}:){{2}}{_LS32}"
    f"|(?:(?:{_H16}:){{0,3}}{_H16})?::{_H16}:{_LS32}"
    f"|(?:(?:{_H16}:){{0,4}}{_H16})?::{_LS32}"
    f"|(?:(?:{_H16}:){{0,5}}{_H16})?::{_H16}"
    f"|(?:(?:{_H16}:){{0,6}}{_H16})?::"
    ")"
)

# ---- host names (RFC 1123): 1 to 4 labels, the first up to 63 characters, the others up to
# 62, so the total length stays within 253 without counting.
_LABEL_TAIL = "(?:[A-Za-z0-9-]{0,%d}[A-Za-z0-9])?"
HOSTNAME = (f"[A-Za-z0-9]{_LABEL_TAIL % 61}"
            f"(?:\\.[A-Za-z0-9]{_LABEL_TAIL % 60}){{0,3}}")

# ---- e-mail (RFC 5321 Mailbox, ASCII): dot-atom local part, host name or [IPv4] domain.
# RFC 5321 caps the local part at 64 octets; a regular expression for "dot-atom of at most 64
# characters, dots included" is unwieldy, so the cap here is 64 characters other than dots. A bound
# matters in generation: a sampled model once filled 400 tokens with one local part.
_ATEXT = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~\\-]"
EMAIL = f"{_ATEXT}(?:\\.?{_ATEXT}){{0,63}}@(?:{HOSTNAME}|\\[{IPV4}\\])"

# ---- URI (RFC 3986 absolute URI with optional fragment)
_UNRESERVED = "A-Za-z0-9\\-._~"
_SUB_DELIMS = "!$&'()*+,;="
_PCT = f"%{_HEX}{_HEX}"
_PCHAR = f"(?:[{_UNRESERVED}{_SUB_DELIMS}:@]|{_PCT})"
_SEGMENT = f"{_PCHAR}*"
_SEGMENT_NZ = f"{_PCHAR}+"
_REG_NAME = f"(?:[{_UNRESERVED}{_SUB_DELIMS}]|{_PCT})*"
_USERINFO = f"(?:[{_UNRESERVED}{_SUB_DELIMS}:]|{_PCT})*"
_HOST = f"(?:\\[{IPV6}\\]|{IPV4}|{_REG_NAME})"
_AUTHORITY = f"(?:{_USERINFO}@)?{_HOST}(?::[0-9]*)?"
_PATH_ABEMPTY = f"(?:/{_SEGMENT})*"
_HIER_PART = (f"(?://{_AUTHORITY}{_PATH_ABEMPTY}"
              f"|/(?:{_SEGMENT_NZ}(?:/{_SEGMENT})*)?"
              f"|{_SEGMENT_NZ}(?:/{_SEGMENT})*"
              "|)")
_QUERY = f"(?:{_PCHAR}|[/?])*"
URI = f"[A-Za-z][A-Za-z0-9+\\-.]*:{_HIER_PART}(?:\\?{_QUERY})?(?:#{_QUERY})?"

# ---- regex: a regular subset of the patterns Python's `re` (jsonschema's checker) compiles: an
# optional ^, then atoms each with at most one quantifier, then an optional $. Atoms: a literal,
# an escaped metacharacter or class escape, `.`, or a class of literals, escapes and the ranges
# a-z, A-Z, 0-9 (other ranges could run backwards). No groups or alternation: nesting is not
# regular, and a subset that never lets an invalid pattern through is the point.
_RX_LITERAL = "[^\\\\.^$*+?()\\[\\]{}|]"
_RX_ESCAPE = "\\\\[\\\\.^$*+?()\\[\\]{}|/dDwWsS-]"
_RX_CLASS_ITEM = "(?:[^\\\\\\[\\]^-]|\\\\[\\\\\\[\\]^dDwWsS-]|a-z|A-Z|0-9)"
_RX_CLASS = f"\\[\\^?{_RX_CLASS_ITEM}+\\]"
_RX_ATOM = f"(?:{_RX_LITERAL}|{_RX_ESCAPE}|\\.|{_RX_CLASS})"
REGEX = f"\\^?(?:{_RX_ATOM}(?:[*+?]|\\{{[0-9]{{1,4}},?\\}})?)*\\$?"

FORMATS = {
    "date": DATE,
    "time": TIME,
    "date-time": DATE_TIME,
    "duration": DURATION,
    "email": EMAIL,
    "uuid": UUID,
    "uri": URI,
    "ipv4": IPV4,
    "ipv6": IPV6,
    "hostname": HOSTNAME,
    "idn-email": EMAIL,  # an ASCII address is one; jsonschema's checker only asks for an "@"
    "regex": REGEX,
}
