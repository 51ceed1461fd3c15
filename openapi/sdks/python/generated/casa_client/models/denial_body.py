from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset






T = TypeVar("T", bound="DenialBody")



@_attrs_define
class DenialBody:
    """ One tool refused by an exchange.

        Attributes:
            check (str): The check or decision step (`ACTOR`, `TOOL_REGISTRY`, `DETERMINISTIC_TOOL_SELECTED`, ...).
            reason (str): Stable reason code: `tool_not_in_token`, `tool_not_allowed_for_app`, `unknown_tool`,
                `delegation_too_deep`, `cross_mas_actor`, `tool_not_selected_by_llm`, `no_llm_calls_made`, ...
            tool (str):
            detail (str | Unset):
     """

    check: str
    reason: str
    tool: str
    detail: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        check = self.check

        reason = self.reason

        tool = self.tool

        detail = self.detail


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "check": check,
            "reason": reason,
            "tool": tool,
        })
        if detail is not UNSET:
            field_dict["detail"] = detail

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        check = d.pop("check")

        reason = d.pop("reason")

        tool = d.pop("tool")

        detail = d.pop("detail", UNSET)

        denial_body = cls(
            check=check,
            reason=reason,
            tool=tool,
            detail=detail,
        )


        denial_body.additional_properties = d
        return denial_body

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
