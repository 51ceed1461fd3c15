from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset






T = TypeVar("T", bound="SemanticParams")



@_attrs_define
class SemanticParams:
    """ Semantic check settings. Missing members take their defaults.

        Attributes:
            min_probability (float | Unset): Cut-off on the calibrated probability, 0.0 to 1.0, used instead of `threshold`
                when the
                node's embedder has a calibration (default: the calibration's, chosen in docs/intent-eval.md).
            threshold (float | Unset): Minimum cosine similarity, -1.0 to 1.0 (default 0.18, chosen in docs/intent-eval.md).
            top_k (int | Unset): The tool must also rank within the top k of the MAS's tools (1 to 1000; default: no rank
                limit).
     """

    min_probability: float | Unset = UNSET
    threshold: float | Unset = UNSET
    top_k: int | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        min_probability = self.min_probability

        threshold = self.threshold

        top_k = self.top_k


        field_dict: dict[str, Any] = {}

        field_dict.update({
        })
        if min_probability is not UNSET:
            field_dict["min_probability"] = min_probability
        if threshold is not UNSET:
            field_dict["threshold"] = threshold
        if top_k is not UNSET:
            field_dict["top_k"] = top_k

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        min_probability = d.pop("min_probability", UNSET)

        threshold = d.pop("threshold", UNSET)

        top_k = d.pop("top_k", UNSET)

        semantic_params = cls(
            min_probability=min_probability,
            threshold=threshold,
            top_k=top_k,
        )

        return semantic_params

