from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.cluster_member import ClusterMember





T = TypeVar("T", bound="ClusterReport")



@_attrs_define
class ClusterReport:
    """ 
        Attributes:
            epoch (int): Its view's number: it grows with every membership change.
            members (list[ClusterMember]):
            node (str): The node that answered.
            placement (list[str]): The members MAS are placed on, by rendezvous hashing of their ids.
            serving (bool):
            owner (str | Unset): With `?mas_id=`: the member that owns that MAS in this view.
            reason (str | Unset): Why it does not serve, if it does not.
     """

    epoch: int
    members: list[ClusterMember]
    node: str
    placement: list[str]
    serving: bool
    owner: str | Unset = UNSET
    reason: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.cluster_member import ClusterMember # noqa: PLC0415
        epoch = self.epoch

        members = []
        for members_item_data in self.members:
            members_item = members_item_data.to_dict()
            members.append(members_item)



        node = self.node

        placement = self.placement



        serving = self.serving

        owner = self.owner

        reason = self.reason


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "epoch": epoch,
            "members": members,
            "node": node,
            "placement": placement,
            "serving": serving,
        })
        if owner is not UNSET:
            field_dict["owner"] = owner
        if reason is not UNSET:
            field_dict["reason"] = reason

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.cluster_member import ClusterMember # noqa: PLC0415
        d = dict(src_dict)
        epoch = d.pop("epoch")

        members = []
        _members = d.pop("members")
        for members_item_data in (_members):
            members_item = ClusterMember.from_dict(members_item_data)



            members.append(members_item)


        node = d.pop("node")

        placement = cast(list[str], d.pop("placement"))


        serving = d.pop("serving")

        owner = d.pop("owner", UNSET)

        reason = d.pop("reason", UNSET)

        cluster_report = cls(
            epoch=epoch,
            members=members,
            node=node,
            placement=placement,
            serving=serving,
            owner=owner,
            reason=reason,
        )


        cluster_report.additional_properties = d
        return cluster_report

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
