from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset






T = TypeVar("T", bound="CollectorHook")



@_attrs_define
class CollectorHook:
    """ 
        Attributes:
            name (str): `tcx_ingress:<if>` (never on lo, whose egress sees every packet),
                `tcx_egress:<if>`, `sock_ops` or `tls_uprobe`.
            state (str): `attached`, `degraded` or `unavailable`.
            lost (int | Unset): Records lost on a degraded hook.
            reason (str | Unset):
     """

    name: str
    state: str
    lost: int | Unset = UNSET
    reason: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        name = self.name

        state = self.state

        lost = self.lost

        reason = self.reason


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "name": name,
            "state": state,
        })
        if lost is not UNSET:
            field_dict["lost"] = lost
        if reason is not UNSET:
            field_dict["reason"] = reason

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        name = d.pop("name")

        state = d.pop("state")

        lost = d.pop("lost", UNSET)

        reason = d.pop("reason", UNSET)

        collector_hook = cls(
            name=name,
            state=state,
            lost=lost,
            reason=reason,
        )


        collector_hook.additional_properties = d
        return collector_hook

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
