from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="TracePage")



@_attrs_define
class TracePage:
    """ A page of trace events, newest first.

        Attributes:
            items (list[Any]): Trace events: id, at, mas_id, user_input_id, app_ids, jti, parent,
                token_digest, latency_us, type and its fields (per-tool `checks` with
                scores and verdicts for exchanges), prev_hash and hash.
            next_cursor (str | Unset): Pass as `cursor` for the next (older) page; absent on the last page.
     """

    items: list[Any]
    next_cursor: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        items = self.items



        next_cursor = self.next_cursor


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "items": items,
        })
        if next_cursor is not UNSET:
            field_dict["next_cursor"] = next_cursor

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        items = cast(list[Any], d.pop("items"))


        next_cursor = d.pop("next_cursor", UNSET)

        trace_page = cls(
            items=items,
            next_cursor=next_cursor,
        )


        trace_page.additional_properties = d
        return trace_page

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
