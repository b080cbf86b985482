"""The library's one cattrs converter (never cattrs' global one).

* snake_case attributes travel as camelCase keys; ``None`` fields are left out of requests;
* primitives are checked strictly (``"false"`` is not a ``bool``), so a malformed response
  fails loudly instead of turning into a wrong verdict;
* open enums (``Decision | str``) take a member for a known value and the string otherwise;
* :class:`~authmatech.credentials.Secret` values stay Secrets in a wire dict: the request body
  that carries one is sealed (see :class:`~authmatech.core.HttpRequest`).
* a result's ``response`` (the response it was read from) is never read from or written to JSON.
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from .credentials import Secret

__all__ = ["converter", "to_wire"]

T = TypeVar("T")


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def wire_name(field: attrs.Attribute[Any]) -> str:
    """The JSON key of ``field``: its ``metadata["wire"]`` if the model declares one, else
    its name in camelCase."""
    return typing.cast("str", field.metadata.get("wire") or camel(field.name))


def _strict(kind: type, name: str) -> Callable[[Any, Any], Any]:
    def check(value: Any, _: Any) -> Any:
        if type(value) is not kind:
            raise TypeError(f"expected {name}, got {type(value).__name__}")
        return value

    return check


def _int(value: Any, _: Any) -> int:
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer():
        return int(value)
    raise TypeError(f"expected an integer, got {type(value).__name__}")


def _float(value: Any, _: Any) -> float:
    if type(value) in (int, float):
        return float(value)
    raise TypeError(f"expected a number, got {type(value).__name__}")


def _passthrough(value: Any, _: Any) -> Any:
    return value


def _secret(value: Any, _: Any) -> Secret:
    if isinstance(value, Secret):
        return value
    if type(value) is not str:
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return Secret(value)


def _same_secret(value: Secret) -> Secret:
    return value


def _is_any(tp: Any) -> bool:
    return tp is Any


def _is_mapping(tp: Any) -> bool:
    return typing.get_origin(tp) is Mapping or tp is Mapping


def _is_tuple(tp: Any) -> bool:
    return typing.get_origin(tp) is tuple


def _mapping_hook(conv: cattrs.Converter) -> Callable[[Any], Callable[[Any, Any], Any]]:
    """``Mapping[str, V]``: an object whose values are checked as ``V`` (kept as-is for Any)."""

    def factory(tp: Any) -> Callable[[Any, Any], Any]:
        args = typing.get_args(tp)
        value_type = args[1] if len(args) == 2 else Any

        def structure(value: Any, _: Any) -> Any:
            if not isinstance(value, dict):
                raise TypeError(f"expected an object, got {type(value).__name__}")
            if value_type is Any:
                return value
            return {key: conv.structure(item, value_type) for key, item in value.items()}

        return structure

    return factory


def _tuple_hook(conv: cattrs.Converter) -> Callable[[Any], Callable[[Any, Any], Any]]:
    """``tuple[X, ...]`` from a JSON array (``null`` reads as empty: Spring sends it so)."""

    def factory(tp: Any) -> Callable[[Any, Any], Any]:
        item_type = typing.get_args(tp)[0]

        def structure(value: Any, _: Any) -> tuple[Any, ...]:
            if value is None:
                return ()
            if not isinstance(value, list):
                raise TypeError(f"expected an array, got {type(value).__name__}")
            return tuple(conv.structure(item, item_type) for item in value)

        return structure

    return factory


def _open_enum_member(tp: Any) -> type[enum.Enum] | None:
    """The enum of ``SomeEnum | str`` (optionally ``| None``), else ``None``."""
    if typing.get_origin(tp) not in (typing.Union, types.UnionType):
        return None
    args = [arg for arg in typing.get_args(tp) if arg is not type(None)]
    enums = [arg for arg in args if isinstance(arg, type) and issubclass(arg, enum.Enum)]
    if len(args) == 2 and len(enums) == 1 and str in args:
        return enums[0]
    return None


def _open_enum_hook(tp: Any) -> Callable[[Any, Any], Any]:
    enum_type = _open_enum_member(tp)
    assert enum_type is not None
    members: dict[str, Any] = {member.value: member for member in enum_type}
    optional = type(None) in typing.get_args(tp)

    def structure(value: Any, _: Any) -> Any:
        if value is None and optional:
            return None
        if type(value) is not str:
            raise TypeError(f"expected a string, got {type(value).__name__}")
        return members.get(value, value)

    return structure


def _build() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=False)
    conv.register_structure_hook(str, _strict(str, "a string"))
    conv.register_structure_hook(bool, _strict(bool, "a boolean"))
    conv.register_structure_hook(int, _int)
    conv.register_structure_hook(float, _float)
    conv.register_structure_hook_func(_is_any, _passthrough)
    conv.register_structure_hook_factory(_is_mapping, _mapping_hook(conv))
    conv.register_structure_hook_factory(_is_tuple, _tuple_hook(conv))
    conv.register_structure_hook_factory(
        lambda tp: _open_enum_member(tp) is not None, _open_enum_hook
    )
    # A Secret stays one on the wire side too: the request body that carries it is sealed.
    conv.register_unstructure_hook(Secret, _same_secret)
    conv.register_structure_hook(Secret, _secret)

    def unstructure_factory(cls: type) -> Callable[[Any], dict[str, Any]]:
        overrides: dict[str, Any] = {
            a.name: override(omit=True) if a.name == "response" else override(rename=wire_name(a))
            for a in attrs.fields(cls)
        }
        return make_dict_unstructure_fn(cls, conv, _cattrs_omit_if_default=True, **overrides)

    def structure_factory(cls: type) -> Callable[[Any, Any], Any]:
        overrides: dict[str, Any] = {
            a.name: (
                override(rename="__raw__", struct_hook=_passthrough)
                if a.name == "raw"
                else override(omit=True)
                if a.name == "response"
                else override(rename=wire_name(a))
            )
            for a in attrs.fields(cls)
        }
        base: Callable[[Any, Any], Any] = make_dict_structure_fn(cls, conv, **overrides)

        def structure(value: Any, tp: Any) -> Any:
            if not isinstance(value, dict):
                raise TypeError(f"expected an object, got {type(value).__name__}")
            if "raw" in overrides:
                value = {**value, "__raw__": value}
            return base(value, tp)

        return structure

    conv.register_unstructure_hook_factory(attrs.has, unstructure_factory)
    conv.register_structure_hook_factory(attrs.has, structure_factory)
    return conv


converter = _build()


def to_wire(model: object) -> dict[str, Any]:
    """A request model as its camelCase JSON object, ``None`` fields left out."""
    return typing.cast("dict[str, Any]", converter.unstructure(model))
