from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast

if TYPE_CHECKING:
  from ..models.collector_hook import CollectorHook
  from ..models.collector_kernel_counters import CollectorKernelCounters
  from ..models.collector_report_findings import CollectorReportFindings
  from ..models.collector_report_lost import CollectorReportLost





T = TypeVar("T", bound="CollectorReport")



@_attrs_define
class CollectorReport:
    """ 
        Attributes:
            apps (int):
            findings (CollectorReportFindings): Trace events written, by kind.
            hooks (list[CollectorHook]):
            interfaces (list[str]):
            kernel (CollectorKernelCounters):
            lost (CollectorReportLost): Records lost in the kernel (`kernel`) and records that did not decode (`decode`).
            node (str):
            observations (int): Records read from the ring buffer.
            realms (int): Realms and apps the judge knows (from the store).
            requests (int): Requests judged.
            restarts (int):
            state (str): `off`, `starting`, `running`, `restarting` or `unavailable`.
            truncated_requests (int):
            verdict_cache_hits (int):
            verifications (int):
            directory_error (str | Unset):
            load_attach_ms (float | Unset):
            reason (str | Unset):
     """

    apps: int
    findings: CollectorReportFindings
    hooks: list[CollectorHook]
    interfaces: list[str]
    kernel: CollectorKernelCounters
    lost: CollectorReportLost
    node: str
    observations: int
    realms: int
    requests: int
    restarts: int
    state: str
    truncated_requests: int
    verdict_cache_hits: int
    verifications: int
    directory_error: str | Unset = UNSET
    load_attach_ms: float | Unset = UNSET
    reason: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.collector_hook import CollectorHook # noqa: PLC0415
        from ..models.collector_kernel_counters import CollectorKernelCounters # noqa: PLC0415
        from ..models.collector_report_findings import CollectorReportFindings # noqa: PLC0415
        from ..models.collector_report_lost import CollectorReportLost # noqa: PLC0415
        apps = self.apps

        findings = self.findings.to_dict()

        hooks = []
        for hooks_item_data in self.hooks:
            hooks_item = hooks_item_data.to_dict()
            hooks.append(hooks_item)



        interfaces = self.interfaces



        kernel = self.kernel.to_dict()

        lost = self.lost.to_dict()

        node = self.node

        observations = self.observations

        realms = self.realms

        requests = self.requests

        restarts = self.restarts

        state = self.state

        truncated_requests = self.truncated_requests

        verdict_cache_hits = self.verdict_cache_hits

        verifications = self.verifications

        directory_error = self.directory_error

        load_attach_ms = self.load_attach_ms

        reason = self.reason


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "apps": apps,
            "findings": findings,
            "hooks": hooks,
            "interfaces": interfaces,
            "kernel": kernel,
            "lost": lost,
            "node": node,
            "observations": observations,
            "realms": realms,
            "requests": requests,
            "restarts": restarts,
            "state": state,
            "truncated_requests": truncated_requests,
            "verdict_cache_hits": verdict_cache_hits,
            "verifications": verifications,
        })
        if directory_error is not UNSET:
            field_dict["directory_error"] = directory_error
        if load_attach_ms is not UNSET:
            field_dict["load_attach_ms"] = load_attach_ms
        if reason is not UNSET:
            field_dict["reason"] = reason

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.collector_hook import CollectorHook # noqa: PLC0415
        from ..models.collector_kernel_counters import CollectorKernelCounters # noqa: PLC0415
        from ..models.collector_report_findings import CollectorReportFindings # noqa: PLC0415
        from ..models.collector_report_lost import CollectorReportLost # noqa: PLC0415
        d = dict(src_dict)
        apps = d.pop("apps")

        findings = CollectorReportFindings.from_dict(d.pop("findings"))




        hooks = []
        _hooks = d.pop("hooks")
        for hooks_item_data in (_hooks):
            hooks_item = CollectorHook.from_dict(hooks_item_data)



            hooks.append(hooks_item)


        interfaces = cast(list[str], d.pop("interfaces"))


        kernel = CollectorKernelCounters.from_dict(d.pop("kernel"))




        lost = CollectorReportLost.from_dict(d.pop("lost"))




        node = d.pop("node")

        observations = d.pop("observations")

        realms = d.pop("realms")

        requests = d.pop("requests")

        restarts = d.pop("restarts")

        state = d.pop("state")

        truncated_requests = d.pop("truncated_requests")

        verdict_cache_hits = d.pop("verdict_cache_hits")

        verifications = d.pop("verifications")

        directory_error = d.pop("directory_error", UNSET)

        load_attach_ms = d.pop("load_attach_ms", UNSET)

        reason = d.pop("reason", UNSET)

        collector_report = cls(
            apps=apps,
            findings=findings,
            hooks=hooks,
            interfaces=interfaces,
            kernel=kernel,
            lost=lost,
            node=node,
            observations=observations,
            realms=realms,
            requests=requests,
            restarts=restarts,
            state=state,
            truncated_requests=truncated_requests,
            verdict_cache_hits=verdict_cache_hits,
            verifications=verifications,
            directory_error=directory_error,
            load_attach_ms=load_attach_ms,
            reason=reason,
        )


        collector_report.additional_properties = d
        return collector_report

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
