from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from typing import cast
from uuid import UUID
import datetime

if TYPE_CHECKING:
  from ..models.user_input_view_intent import UserInputViewIntent





T = TypeVar("T", bound="UserInputView")



@_attrs_define
class UserInputView:
    """ 
        Attributes:
            app_id (UUID): The app that submitted it.
            created_at (datetime.datetime):
            id (UUID):
            mas_id (UUID):
            user_input (Any): The prompt (a string) or the conversation (an array of `{role, content}`).
            intent (UserInputViewIntent | Unset): Absent when the node that stored it had no embedder.
            task (str | Unset): The task derived from it: by the LLM, or from the user turns (latest weighted most).
     """

    app_id: UUID
    created_at: datetime.datetime
    id: UUID
    mas_id: UUID
    user_input: Any
    intent: UserInputViewIntent | Unset = UNSET
    task: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)





    def to_dict(self) -> dict[str, Any]:
        from ..models.user_input_view_intent import UserInputViewIntent # noqa: PLC0415
        app_id = str(self.app_id)

        created_at = self.created_at.isoformat()

        id = str(self.id)

        mas_id = str(self.mas_id)

        user_input = self.user_input

        intent: dict[str, Any] | Unset = UNSET
        if not isinstance(self.intent, Unset):
            intent = self.intent.to_dict()

        task = self.task


        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({
            "app_id": app_id,
            "created_at": created_at,
            "id": id,
            "mas_id": mas_id,
            "user_input": user_input,
        })
        if intent is not UNSET:
            field_dict["intent"] = intent
        if task is not UNSET:
            field_dict["task"] = task

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.user_input_view_intent import UserInputViewIntent # noqa: PLC0415
        d = dict(src_dict)
        app_id = UUID(d.pop("app_id"))




        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))




        id = UUID(d.pop("id"))




        mas_id = UUID(d.pop("mas_id"))




        user_input = d.pop("user_input")

        _intent = d.pop("intent", UNSET)
        intent: UserInputViewIntent | Unset
        if isinstance(_intent,  Unset):
            intent = UNSET
        else:
            intent = UserInputViewIntent.from_dict(_intent)




        task = d.pop("task", UNSET)

        user_input_view = cls(
            app_id=app_id,
            created_at=created_at,
            id=id,
            mas_id=mas_id,
            user_input=user_input,
            intent=intent,
            task=task,
        )


        user_input_view.additional_properties = d
        return user_input_view

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
