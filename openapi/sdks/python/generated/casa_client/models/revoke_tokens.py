from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, BinaryIO, TextIO, TYPE_CHECKING, Generator

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

from ..types import UNSET, Unset
from uuid import UUID






T = TypeVar("T", bound="RevokeTokens")



@_attrs_define
class RevokeTokens:
    """ What to revoke: any combination, at least one.

        Attributes:
            app_id (UUID | Unset):
            jti (str | Unset):
            user_input_id (UUID | Unset):
     """

    app_id: UUID | Unset = UNSET
    jti: str | Unset = UNSET
    user_input_id: UUID | Unset = UNSET





    def to_dict(self) -> dict[str, Any]:
        app_id: str | Unset = UNSET
        if not isinstance(self.app_id, Unset):
            app_id = str(self.app_id)

        jti = self.jti

        user_input_id: str | Unset = UNSET
        if not isinstance(self.user_input_id, Unset):
            user_input_id = str(self.user_input_id)


        field_dict: dict[str, Any] = {}

        field_dict.update({
        })
        if app_id is not UNSET:
            field_dict["app_id"] = app_id
        if jti is not UNSET:
            field_dict["jti"] = jti
        if user_input_id is not UNSET:
            field_dict["user_input_id"] = user_input_id

        return field_dict



    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        _app_id = d.pop("app_id", UNSET)
        app_id: UUID | Unset
        if isinstance(_app_id,  Unset):
            app_id = UNSET
        else:
            app_id = UUID(_app_id)




        jti = d.pop("jti", UNSET)

        _user_input_id = d.pop("user_input_id", UNSET)
        user_input_id: UUID | Unset
        if isinstance(_user_input_id,  Unset):
            user_input_id = UNSET
        else:
            user_input_id = UUID(_user_input_id)




        revoke_tokens = cls(
            app_id=app_id,
            jti=jti,
            user_input_id=user_input_id,
        )

        return revoke_tokens

