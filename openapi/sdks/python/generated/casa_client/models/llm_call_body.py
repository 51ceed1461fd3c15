from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast






T = TypeVar("T", bound="LlmCallBody")



@_attrs_define
class LlmCallBody:
    """ 
        Attributes:
            call_id (str): The LLM call's id, unique in the session: a call is recorded once, never replaced.
            selected_tools (list[str]): The tools the call selected.
            user_input_id (str): The session (`user_input_id` of its tokens) the call served.
            model (str | Unset):
            prompt_digest (str | Unset): A digest of the prompt (never the prompt itself).
     """

    call_id: str
    selected_tools: list[str]
    user_input_id: str
    model: str | Unset = UNSET
    prompt_digest: str | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        call_id = self.call_id

        selected_tools = self.selected_tools



        user_input_id = self.user_input_id

        model = self.model

        prompt_digest = self.prompt_digest


        field_dict: dict[str, Any] = {}

        field_dict.update({
            "call_id": call_id,
            "selected_tools": selected_tools,
            "user_input_id": user_input_id,
        })
        if model is not UNSET:
            field_dict["model"] = model
        if prompt_digest is not UNSET:
            field_dict["prompt_digest"] = prompt_digest

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        call_id = d.pop("call_id")

        selected_tools = cast(list[str], d.pop("selected_tools"))


        user_input_id = d.pop("user_input_id")

        model = d.pop("model", UNSET)

        prompt_digest = d.pop("prompt_digest", UNSET)

        llm_call_body = cls(
            call_id=call_id,
            selected_tools=selected_tools,
            user_input_id=user_input_id,
            model=model,
            prompt_digest=prompt_digest,
        )

        return llm_call_body

