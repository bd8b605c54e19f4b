"""The config file, read strictly: ``read_yaml(path)`` -> the mapping of key: value it holds.

UTF-8 only (a BOM is accepted; Notepad's UTF-16 and cp1252 are named as such), no YAML
aliases (``*name``: a few nested ones expand to gigabytes, the "billion laughs", and a config
file has no use for them) and no duplicate keys (YAML silently keeps the last one; we name
the key and both lines); ``[[[…`` more than ``FLOW_DEPTH_MAX`` deep is "nested too deeply"
at once (PyYAML would take half a second to get there). Imported only when there is a file
to read: a poll configured by the environment alone loads neither this module nor PyYAML.
"""

from __future__ import annotations

from luxlog.config_rules import capped, shown
from luxlog.errors import ConfigError

# `typing` costs ~5 ms per process on the poll path; annotations are strings here.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

# No config key takes a nested value at all; this only bounds the cost of a hostile file.
FLOW_DEPTH_MAX = 100


def _decode(path: Path, data: bytes) -> str:
    """The file's text: strict UTF-8 (BOM allowed); anything else is named, with a hint."""
    utf16 = data[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in data[:200]
    hint = "UTF-16? " if utf16 else "Windows-1252/Latin-1? "
    data = data.removeprefix(b"\xef\xbb\xbf")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"{path}: not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}, line {line}; "
            f"{hint}save it as UTF-8)"
        ) from None
    if "\x00" in text:  # UTF-16 without a BOM decodes as UTF-8 with a NUL in every other byte
        offset = text.index("\x00")
        raise ConfigError(
            f"{path}: not UTF-8 (NUL byte at offset {offset}; {hint}save it as UTF-8)"
        )
    return text


def _strict_loader(yaml: Any) -> Any:
    """A SafeLoader that refuses aliases and records duplicate keys (see the module docstring)."""

    class StrictLoader(yaml.SafeLoader):  # type: ignore[misc]
        duplicates: list[str]

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    "aliases (*name) are not allowed in a luxlog config: write the value out",
                    self.peek_event().start_mark,
                )
            return super().compose_node(parent, index)

        def fetch_flow_collection_start(self, token_class: Any) -> Any:
            # PyYAML's scanner is quadratic in the flow depth (it rescans one possible key per
            # open bracket at every token): [[[[… took ~0.5 s to reach the RecursionError.
            if self.flow_level >= FLOW_DEPTH_MAX:
                raise RecursionError
            return super().fetch_flow_collection_start(token_class)

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                try:
                    first = seen.get(key)
                    seen.setdefault(key, line)
                except TypeError:
                    continue  # unhashable: the base class names it
                if first is not None:
                    self.duplicates.append(
                        f"duplicate key {shown(key)} on lines {first} and {line}"
                    )
            return super().construct_mapping(node, deep=deep)

    return StrictLoader


def read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc
    loader = _strict_loader(yaml)(_decode(path, data))
    loader.duplicates = []
    try:
        doc = loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{path}:{where}: {str(problem)[:200]}") from None
    except RecursionError:  # PyYAML composes recursively: [[[[… thousands deep
        raise ConfigError(f"{path}: nested too deeply") from None
    finally:
        loader.dispose()
    if loader.duplicates:
        raise ConfigError(capped([f"{path}: {d}" for d in loader.duplicates]))
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: expected a mapping of key: value, got {type(doc).__name__}")
    return {str(k): v for k, v in doc.items()}
