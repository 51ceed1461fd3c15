from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.cluster_member_state import ClusterMemberState






T = TypeVar("T", bound="ClusterMember")



@_attrs_define
class ClusterMember:
    """ 
        Attributes:
            active_mas (int): MAS actors running on it (as of its last heartbeat).
            addr (str): Where peers reach it.
            last_seen_ms (int): Milliseconds since its last heartbeat.
            name (str):
            owned_mas (int): MAS it owns by placement, of every MAS in the store.
            serving (bool): Whether it serves MAS (it reaches a majority of the members).
            state (ClusterMemberState): `self`, `alive`, `suspect` (missed heartbeats) or `down`.
     """

    active_mas: int
    addr: str
    last_seen_ms: int
    name: str
    owned_mas: int
    serving: bool
    state: ClusterMemberState
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        active_mas = self.active_mas

        addr = self.addr

        last_seen_ms = self.last_seen_ms

        name = self.name

        owned_mas = self.owned_mas

        serving = self.serving

        state = self.state.value


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "active_mas": active_mas,
            "addr": addr,
            "last_seen_ms": last_seen_ms,
            "name": name,
            "owned_mas": owned_mas,
            "serving": serving,
            "state": state,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        active_mas = d.pop("active_mas")

        addr = d.pop("addr")

        last_seen_ms = d.pop("last_seen_ms")

        name = d.pop("name")

        owned_mas = d.pop("owned_mas")

        serving = d.pop("serving")

        state = ClusterMemberState(d.pop("state"))




        cluster_member = cls(
            active_mas=active_mas,
            addr=addr,
            last_seen_ms=last_seen_ms,
            name=name,
            owned_mas=owned_mas,
            serving=serving,
            state=state,
        )


        cluster_member.additional_properties = d
        return cluster_member

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
