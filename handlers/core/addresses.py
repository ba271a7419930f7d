"""Which web addresses name this machine or a private network: hosts Cohost does not hand to a vendor (a vendor
fetching them would reach into the network it runs in) unless `COHOST_ALLOW_PRIVATE_URLS` says so.

Only what the URL itself says is judged: `localhost` names and literal IP addresses, in every spelling a browser
accepts (`[::1]`, `::ffff:127.0.0.1`, `2130706433`, `0x7f.1`, `0177.0.0.1`, `%31%32%37.0.0.1`). Nothing is
looked up in DNS: a public name that resolves to a private address is the vendor's network's business.
"""

from __future__ import annotations

import ipaddress
import unicodedata
from urllib.parse import unquote, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: Carrier-grade NAT (RFC 6598): not "private" to Python, but no public host lives there either.
_SHARED = ipaddress.ip_network("100.64.0.0/10")
#: All an IP address is spelt with, in any of its forms (hex IPv4 parts with `0x`, IPv6 with `:`).
_ADDRESS_CHARACTERS = frozenset("0123456789abcdefx.:")


def private_reason(url: str) -> str | None:
    """What makes `url`'s host off-limits (`"a loopback address (127.0.0.1)"`), or None for a public one."""
    host = _host(url)
    if not host:
        return None
    if host == "localhost" or host.endswith(".localhost"):
        return f"this machine ({host})"
    address = _literal_address(host)
    return _kind(address) if address is not None else None


def invalid_host(url: str) -> bool:
    """A host no browser would go to: a malformed `[...]`, or a number that is no IPv4 address (`1.2.3.256`,
    which a vendor's fetcher might read some other way)."""
    try:
        urlsplit(url).hostname  # noqa: B018 - it raises for a malformed `[...]` host
    except ValueError:
        return True
    host = _host(url)
    return bool(host) and _literal_address(host) is None and _ends_in_number(host)


def _host(url: str) -> str:
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    # As browsers read a host: percent-escapes decoded, full-width forms and ideographic dots folded.
    return unicodedata.normalize("NFKC", unquote(host)).replace("\u3002", ".").lower().rstrip(".")


def _kind(address: IPAddress) -> str | None:
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            return _kind(embedded)
    if address.is_unspecified:
        return f"an unspecified address ({address})"
    if address.is_loopback:
        return f"a loopback address ({address})"
    if address.is_link_local:
        return f"a link-local address ({address})"
    if address.is_private or address in _SHARED:
        return f"a private address ({address})"
    return None


def _literal_address(host: str) -> IPAddress | None:
    """The IP address `host` spells, in the forms browsers read (WHATWG URL: IPv4 parts in decimal, octal
    or hex, fewer than four parts filling the last one), or None for a name."""
    host = host.split("%", 1)[0]  # an IPv6 zone (`fe80::1%eth0`) names no other host
    if not _ADDRESS_CHARACTERS.issuperset(host):
        return None  # a letter no address is spelt with: a name (most hosts; quicker than trying to read one)
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers = [_ipv4_part(part) for part in parts]
    if any(number is None for number in numbers):
        return None
    values = [number for number in numbers if number is not None]
    *leading, last = values
    if any(value > 255 for value in leading) or last >= 256 ** (5 - len(values)):
        return None
    total = last
    for index, value in enumerate(leading):
        total += value << (8 * (3 - index))
    return ipaddress.IPv4Address(total)


def _ipv4_part(part: str) -> int | None:
    try:
        if part.lower().startswith("0x"):
            return int(part[2:] or "0", 16)
        if len(part) > 1 and part.startswith("0"):
            return int(part, 8)
        return int(part, 10) if part.isascii() and part.isdigit() else None
    except ValueError:
        return None


def _ends_in_number(host: str) -> bool:
    """A host whose last label is a number is read as an IPv4 address by browsers: if it is not a valid one, it
    is no host at all (and no vendor should be asked to guess)."""
    return _ipv4_part(host.split(".")[-1]) is not None
