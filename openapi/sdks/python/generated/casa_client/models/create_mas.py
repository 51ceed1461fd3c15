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

if TYPE_CHECKING:
  from ..models.semantic_params import SemanticParams





T = TypeVar("T", bound="CreateMas")



@_attrs_define
class CreateMas:
    """ 
        Attributes:
            name (str): 1 to 128 characters (trimmed), no control characters.
            description (str | Unset): At most 4096 characters; blank means none.
            enabled_checks (list[Check] | Unset): Default: `[DETERMINISTIC_TOOL_SELECTED]`.
            exchanged_token_ttl_seconds (int | Unset): Lifetime of exchanged tokens, 1 to 86400 (default 60); never beyond
                the subject token's.
            llm_evidence_apps (list[UUID] | Unset): Ids of the apps whose reports to `/trace/llm` are evidence for
                `DETERMINISTIC_LLM_SELECTED_TOOLS` (at most 64; default: none).
            max_delegation_depth (int | Unset): Longest delegation chain, 1 to 32 (default 4).
            semantic (SemanticParams | Unset): Semantic check settings. Missing members take their defaults.
            sessions_per_app_per_second (int | Unset): New sessions (user inputs) one app may start per second, 1 to 1000000
                (default 20000);
                more are refused with 429 and `Retry-After`.
            shadow_checks (list[Check] | Unset): Checks evaluated and recorded in the trace, never enforced (default: none).
            token_ttl_seconds (int | Unset): Lifetime of initial tokens, 1 to 86400 (default 300).
     """

    name: str
    description: str | Unset = UNSET
    enabled_checks: list[Check] | Unset = UNSET
    exchanged_token_ttl_seconds: int | Unset = UNSET
    llm_evidence_apps: list[UUID] | Unset = UNSET
    max_delegation_depth: int | Unset = UNSET
    semantic: SemanticParams | Unset = UNSET
    sessions_per_app_per_second: int | Unset = UNSET
    shadow_checks: list[Check] | Unset = UNSET
    token_ttl_seconds: int | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        from ..models.semantic_params import SemanticParams # noqa: PLC0415
        name = self.name

        description = self.description

        enabled_checks: list[str] | Unset = UNSET
        if not isinstance(self.enabled_checks, Unset):
            enabled_checks = []
            for enabled_checks_item_data in self.enabled_checks:
                enabled_checks_item = enabled_checks_item_data.value
                enabled_checks.append(enabled_checks_item)



        exchanged_token_ttl_seconds = self.exchanged_token_ttl_seconds

        llm_evidence_apps: list[str] | Unset = UNSET
        if not isinstance(self.llm_evidence_apps, Unset):
            llm_evidence_apps = []
            for llm_evidence_apps_item_data in self.llm_evidence_apps:
                llm_evidence_apps_item = str(llm_evidence_apps_item_data)
                llm_evidence_apps.append(llm_evidence_apps_item)



        max_delegation_depth = self.max_delegation_depth

        semantic: dict[str, Any] | Unset = UNSET
        if not isinstance(self.semantic, Unset):
            semantic = self.semantic.to_dict()

        sessions_per_app_per_second = self.sessions_per_app_per_second

        shadow_checks: list[str] | Unset = UNSET
        if not isinstance(self.shadow_checks, Unset):
            shadow_checks = []
            for shadow_checks_item_data in self.shadow_checks:
                shadow_checks_item = shadow_checks_item_data.value
                shadow_checks.append(shadow_checks_item)



        token_ttl_seconds = self.token_ttl_seconds


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "name": name,
        })
        if description is not UNSET:
            field_dict["description"] = description
        if enabled_checks is not UNSET:
            field_dict["enabled_checks"] = enabled_checks
        if exchanged_token_ttl_seconds is not UNSET:
            field_dict["exchanged_token_ttl_seconds"] = exchanged_token_ttl_seconds
        if llm_evidence_apps is not UNSET:
            field_dict["llm_evidence_apps"] = llm_evidence_apps
        if max_delegation_depth is not UNSET:
            field_dict["max_delegation_depth"] = max_delegation_depth
        if semantic is not UNSET:
            field_dict["semantic"] = semantic
        if sessions_per_app_per_second is not UNSET:
            field_dict["sessions_per_app_per_second"] = sessions_per_app_per_second
        if shadow_checks is not UNSET:
            field_dict["shadow_checks"] = shadow_checks
        if token_ttl_seconds is not UNSET:
            field_dict["token_ttl_seconds"] = token_ttl_seconds

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.semantic_params import SemanticParams # noqa: PLC0415
        d = dict(src_dict)
        name = d.pop("name")

        description = d.pop("description", UNSET)

        _enabled_checks = d.pop("enabled_checks", UNSET)
        enabled_checks: list[Check] | Unset = UNSET
        if _enabled_checks is not UNSET:
            enabled_checks = []
            for enabled_checks_item_data in _enabled_checks:
                enabled_checks_item = Check(enabled_checks_item_data)



                enabled_checks.append(enabled_checks_item)


        exchanged_token_ttl_seconds = d.pop("exchanged_token_ttl_seconds", UNSET)

        _llm_evidence_apps = d.pop("llm_evidence_apps", UNSET)
        llm_evidence_apps: list[UUID] | Unset = UNSET
        if _llm_evidence_apps is not UNSET:
            llm_evidence_apps = []
            for llm_evidence_apps_item_data in _llm_evidence_apps:
                llm_evidence_apps_item = UUID(llm_evidence_apps_item_data)



                llm_evidence_apps.append(llm_evidence_apps_item)


        max_delegation_depth = d.pop("max_delegation_depth", UNSET)

        _semantic = d.pop("semantic", UNSET)
        semantic: SemanticParams | Unset
        if isinstance(_semantic,  Unset):
            semantic = UNSET
        else:
            semantic = SemanticParams.from_dict(_semantic)




        sessions_per_app_per_second = d.pop("sessions_per_app_per_second", UNSET)

        _shadow_checks = d.pop("shadow_checks", UNSET)
        shadow_checks: list[Check] | Unset = UNSET
        if _shadow_checks is not UNSET:
            shadow_checks = []
            for shadow_checks_item_data in _shadow_checks:
                shadow_checks_item = Check(shadow_checks_item_data)



                shadow_checks.append(shadow_checks_item)


        token_ttl_seconds = d.pop("token_ttl_seconds", UNSET)

        create_mas = cls(
            name=name,
            description=description,
            enabled_checks=enabled_checks,
            exchanged_token_ttl_seconds=exchanged_token_ttl_seconds,
            llm_evidence_apps=llm_evidence_apps,
            max_delegation_depth=max_delegation_depth,
            semantic=semantic,
            sessions_per_app_per_second=sessions_per_app_per_second,
            shadow_checks=shadow_checks,
            token_ttl_seconds=token_ttl_seconds,
        )

        return create_mas

