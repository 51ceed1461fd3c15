from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..models.check import Check
from ..types import UNSET, Unset
from typing import cast
from uuid import UUID
import datetime

if TYPE_CHECKING:
  from ..models.realm import Realm
  from ..models.semantic import Semantic





T = TypeVar("T", bound="Mas")



@_attrs_define
class Mas:
    """ 
        Attributes:
            created_at (datetime.datetime):
            enabled_checks (list[Check]):
            exchanged_token_ttl_seconds (int):
            id (UUID):
            llm_evidence_apps (list[UUID]): The apps whose `/trace/llm` reports count as evidence.
            max_delegation_depth (int):
            name (str):
            realm (Realm): The MAS's own realm: its issuer and signing keys.
            semantic (Semantic):
            sessions_per_app_per_second (int): New sessions one app may start per second (429 beyond).
            shadow_checks (list[Check]):
            token_ttl_seconds (int):
            updated_at (datetime.datetime):
            description (str | Unset):
     """

    created_at: datetime.datetime
    enabled_checks: list[Check]
    exchanged_token_ttl_seconds: int
    id: UUID
    llm_evidence_apps: list[UUID]
    max_delegation_depth: int
    name: str
    realm: Realm
    semantic: Semantic
    sessions_per_app_per_second: int
    shadow_checks: list[Check]
    token_ttl_seconds: int
    updated_at: datetime.datetime
    description: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.realm import Realm # noqa: PLC0415
        from ..models.semantic import Semantic # noqa: PLC0415
        created_at = self.created_at.isoformat()

        enabled_checks = []
        for enabled_checks_item_data in self.enabled_checks:
            enabled_checks_item = enabled_checks_item_data.value
            enabled_checks.append(enabled_checks_item)



        exchanged_token_ttl_seconds = self.exchanged_token_ttl_seconds

        id = str(self.id)

        llm_evidence_apps = []
        for llm_evidence_apps_item_data in self.llm_evidence_apps:
            llm_evidence_apps_item = str(llm_evidence_apps_item_data)
            llm_evidence_apps.append(llm_evidence_apps_item)



        max_delegation_depth = self.max_delegation_depth

        name = self.name

        realm = self.realm.to_dict()

        semantic = self.semantic.to_dict()

        sessions_per_app_per_second = self.sessions_per_app_per_second

        shadow_checks = []
        for shadow_checks_item_data in self.shadow_checks:
            shadow_checks_item = shadow_checks_item_data.value
            shadow_checks.append(shadow_checks_item)



        token_ttl_seconds = self.token_ttl_seconds

        updated_at = self.updated_at.isoformat()

        description = self.description


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "created_at": created_at,
            "enabled_checks": enabled_checks,
            "exchanged_token_ttl_seconds": exchanged_token_ttl_seconds,
            "id": id,
            "llm_evidence_apps": llm_evidence_apps,
            "max_delegation_depth": max_delegation_depth,
            "name": name,
            "realm": realm,
            "semantic": semantic,
            "sessions_per_app_per_second": sessions_per_app_per_second,
            "shadow_checks": shadow_checks,
            "token_ttl_seconds": token_ttl_seconds,
            "updated_at": updated_at,
        })
        if description is not UNSET:
            field_dict["description"] = description

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.realm import Realm # noqa: PLC0415
        from ..models.semantic import Semantic # noqa: PLC0415
        d = dict(src_dict)
        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        enabled_checks = []
        _enabled_checks = d.pop("enabled_checks")
        for enabled_checks_item_data in (_enabled_checks):
            enabled_checks_item = Check(enabled_checks_item_data)



            enabled_checks.append(enabled_checks_item)


        exchanged_token_ttl_seconds = d.pop("exchanged_token_ttl_seconds")

        id = UUID(d.pop("id"))




        llm_evidence_apps = []
        _llm_evidence_apps = d.pop("llm_evidence_apps")
        for llm_evidence_apps_item_data in (_llm_evidence_apps):
            llm_evidence_apps_item = UUID(llm_evidence_apps_item_data)



            llm_evidence_apps.append(llm_evidence_apps_item)


        max_delegation_depth = d.pop("max_delegation_depth")

        name = d.pop("name")

        realm = Realm.from_dict(d.pop("realm"))




        semantic = Semantic.from_dict(d.pop("semantic"))




        sessions_per_app_per_second = d.pop("sessions_per_app_per_second")

        shadow_checks = []
        _shadow_checks = d.pop("shadow_checks")
        for shadow_checks_item_data in (_shadow_checks):
            shadow_checks_item = Check(shadow_checks_item_data)



            shadow_checks.append(shadow_checks_item)


        token_ttl_seconds = d.pop("token_ttl_seconds")

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))




        description = d.pop("description", UNSET)

        mas = cls(
            created_at=created_at,
            enabled_checks=enabled_checks,
            exchanged_token_ttl_seconds=exchanged_token_ttl_seconds,
            id=id,
            llm_evidence_apps=llm_evidence_apps,
            max_delegation_depth=max_delegation_depth,
            name=name,
            realm=realm,
            semantic=semantic,
            sessions_per_app_per_second=sessions_per_app_per_second,
            shadow_checks=shadow_checks,
            token_ttl_seconds=token_ttl_seconds,
            updated_at=updated_at,
            description=description,
        )


        mas.additional_properties = d
        return mas

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
