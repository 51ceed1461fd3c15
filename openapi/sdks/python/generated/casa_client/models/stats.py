from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from typing import cast

if TYPE_CHECKING:
  from ..models.edge import Edge
  from ..models.stats_denials_by_check import StatsDenialsByCheck
  from ..models.stats_denials_by_reason import StatsDenialsByReason





T = TypeVar("T", bound="Stats")



@_attrs_define
class Stats:
    """ 
        Attributes:
            allowed (int):
            denials_by_check (StatsDenialsByCheck):
            denials_by_reason (StatsDenialsByReason):
            denied (int):
            edges (list[Edge]): Actor → tool server, with exchanges and denials.
            events (int): Events counted.
            issued (int):
            rejected (int): Exchanges refused before any tool was looked at (bad client, bad subject token).
            truncated (bool): More events matched than `/stats` reads: the counts cover the newest.
     """

    allowed: int
    denials_by_check: StatsDenialsByCheck
    denials_by_reason: StatsDenialsByReason
    denied: int
    edges: list[Edge]
    events: int
    issued: int
    rejected: int
    truncated: bool
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.edge import Edge # noqa: PLC0415
        from ..models.stats_denials_by_check import StatsDenialsByCheck # noqa: PLC0415
        from ..models.stats_denials_by_reason import StatsDenialsByReason # noqa: PLC0415
        allowed = self.allowed

        denials_by_check = self.denials_by_check.to_dict()

        denials_by_reason = self.denials_by_reason.to_dict()

        denied = self.denied

        edges = []
        for edges_item_data in self.edges:
            edges_item = edges_item_data.to_dict()
            edges.append(edges_item)



        events = self.events

        issued = self.issued

        rejected = self.rejected

        truncated = self.truncated


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "allowed": allowed,
            "denials_by_check": denials_by_check,
            "denials_by_reason": denials_by_reason,
            "denied": denied,
            "edges": edges,
            "events": events,
            "issued": issued,
            "rejected": rejected,
            "truncated": truncated,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.edge import Edge # noqa: PLC0415
        from ..models.stats_denials_by_check import StatsDenialsByCheck # noqa: PLC0415
        from ..models.stats_denials_by_reason import StatsDenialsByReason # noqa: PLC0415
        d = dict(src_dict)
        allowed = d.pop("allowed")

        denials_by_check = StatsDenialsByCheck.from_dict(d.pop("denials_by_check"))




        denials_by_reason = StatsDenialsByReason.from_dict(d.pop("denials_by_reason"))




        denied = d.pop("denied")

        edges = []
        _edges = d.pop("edges")
        for edges_item_data in (_edges):
            edges_item = Edge.from_dict(edges_item_data)



            edges.append(edges_item)


        events = d.pop("events")

        issued = d.pop("issued")

        rejected = d.pop("rejected")

        truncated = d.pop("truncated")

        stats = cls(
            allowed=allowed,
            denials_by_check=denials_by_check,
            denials_by_reason=denials_by_reason,
            denied=denied,
            edges=edges,
            events=events,
            issued=issued,
            rejected=rejected,
            truncated=truncated,
        )


        stats.additional_properties = d
        return stats

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
