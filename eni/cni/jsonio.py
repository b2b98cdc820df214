"""JSON for the plugins through the C accelerator ``_json``, without importing ``json`` (and ``re``) at start.

Why: the runtime execs a plugin per pod and ``import json`` costs several milliseconds of the plugin's
start, most of it ``re``. The C scanner and string encoder behind ``json`` do the real work; this module
only supplies their context. Without ``_json`` (another Python build) it falls back to ``json``.
Must never: accept what ``json.loads`` rejects, other than surrounding whitespace rules; use syntax newer than 3.8.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, List

try:
    import _json
except ImportError:  # pragma: no cover - CPython always has it
    _json = None  # type: ignore[assignment]

_WHITESPACE = " \t\n\r"


class _RejectedConstant(ValueError):
    """NaN and Infinity: json.loads accepts them, JSON does not."""


class _ScanContext:
    """The attributes ``_json.make_scanner`` reads from a ``json.JSONDecoder``."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    memo: dict = {}  # type: ignore[type-arg]

    @staticmethod
    def parse_constant(name: str) -> Any:
        raise _RejectedConstant("invalid JSON constant " + name)


_scan: Callable[[str, int], Any] | None = None
if _json is not None:
    _scan = _json.make_scanner(_ScanContext())  # type: ignore[arg-type]


def loads(data: bytes | str) -> Any:
    """Decodes one JSON document; raises ValueError on anything that is not exactly one valid document."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    if _scan is None:  # pragma: no cover
        import json

        return json.loads(text)
    start = _skip(text, 0)
    try:
        value, end = _scan(text, start)
    except StopIteration as e:
        raise ValueError("expecting a JSON value at offset %d" % e.value) from None
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    except _RejectedConstant:
        raise
    except (ValueError, SystemError):
        # NB: the C scanner builds its error from json.decoder, which it only finds if already imported;
        # the error path may pay for the import to report the same message json.loads would.
        import json

        return json.loads(text)
    if _skip(text, end) != len(text):
        raise ValueError("extra data after the JSON value at offset %d" % end)
    return value


def dumps(value: Any) -> str:
    """Encodes ``value`` (dict/list/str/int/float/bool/None) compactly as ASCII JSON."""
    out: List[str] = []
    _encode(value, out)
    return "".join(out)


def _skip(text: str, index: int) -> int:
    while index < len(text) and text[index] in _WHITESPACE:
        index += 1
    return index


def _string(value: str) -> str:
    if _json is not None:
        return _json.encode_basestring_ascii(value)
    import json  # pragma: no cover

    return json.dumps(value)  # pragma: no cover


def _encode(value: Any, out: List[str]) -> None:
    if isinstance(value, str):
        out.append(_string(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("cannot encode %r as JSON" % value)
        out.append(float.__repr__(value))
    elif isinstance(value, dict):
        out.append("{")
        for i, (k, v) in enumerate(value.items()):
            if not isinstance(k, str):
                raise TypeError("JSON object keys must be strings, got %r" % (k,))
            out.append("," if i else "")
            out.append(_string(k))
            out.append(":")
            _encode(v, out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, item in enumerate(value):
            out.append("," if i else "")
            _encode(item, out)
        out.append("]")
    else:
        raise TypeError("cannot encode %s as JSON" % type(value).__name__)
