from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset







T = TypeVar("T", bound="CollectorKernelCounters")



@_attrs_define
class CollectorKernelCounters:
    """ 
        Attributes:
            continued (int): Packets that continued a request begun in an earlier one.
            matched (int): Authorization: Bearer headers found.
            packets (int): Packets the classifiers ran on, and those with a TCP payload.
            payloads (int):
            reserve_failures (int): Records the ring buffer had no room for (lost).
            responses (int): HTTP responses seen (their status answers the flow's last request).
            scanned (int): HTTP request packets scanned.
            tls_writes (int): `SSL_write` calls the TLS uprobes ran on.
            truncated (int): Requests only partly seen (scan window, 8 KiB token cap).
     """

    continued: int
    matched: int
    packets: int
    payloads: int
    reserve_failures: int
    responses: int
    scanned: int
    tls_writes: int
    truncated: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        continued = self.continued

        matched = self.matched

        packets = self.packets

        payloads = self.payloads

        reserve_failures = self.reserve_failures

        responses = self.responses

        scanned = self.scanned

        tls_writes = self.tls_writes

        truncated = self.truncated


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "continued": continued,
            "matched": matched,
            "packets": packets,
            "payloads": payloads,
            "reserve_failures": reserve_failures,
            "responses": responses,
            "scanned": scanned,
            "tls_writes": tls_writes,
            "truncated": truncated,
        })

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        continued = d.pop("continued")

        matched = d.pop("matched")

        packets = d.pop("packets")

        payloads = d.pop("payloads")

        reserve_failures = d.pop("reserve_failures")

        responses = d.pop("responses")

        scanned = d.pop("scanned")

        tls_writes = d.pop("tls_writes")

        truncated = d.pop("truncated")

        collector_kernel_counters = cls(
            continued=continued,
            matched=matched,
            packets=packets,
            payloads=payloads,
            reserve_failures=reserve_failures,
            responses=responses,
            scanned=scanned,
            tls_writes=tls_writes,
            truncated=truncated,
        )


        collector_kernel_counters.additional_properties = d
        return collector_kernel_counters

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
