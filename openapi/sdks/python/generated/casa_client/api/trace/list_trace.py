from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.error_body import ErrorBody
from ...models.list_trace_decision import ListTraceDecision
from ...models.list_trace_event_type import ListTraceEventType
from ...models.trace_page import TracePage
from ...types import UNSET, Unset
from typing import cast
from uuid import UUID
import datetime



def _get_kwargs(
    *,
    mas_id: UUID | Unset = UNSET,
    user_input_id: str | Unset = UNSET,
    jti: str | Unset = UNSET,
    app_id: str | Unset = UNSET,
    decision: ListTraceDecision | Unset = UNSET,
    event_type: ListTraceEventType | Unset = UNSET,
    token_digest: str | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: UUID | Unset = UNSET,

) -> dict[str, Any]:
    

    

    params: dict[str, Any] = {}

    json_mas_id: str | Unset = UNSET
    if not isinstance(mas_id, Unset):
        json_mas_id = str(mas_id)
    params["mas_id"] = json_mas_id

    params["user_input_id"] = user_input_id

    params["jti"] = jti

    params["app_id"] = app_id

    json_decision: str | Unset = UNSET
    if not isinstance(decision, Unset):
        json_decision = decision.value

    params["decision"] = json_decision

    json_event_type: str | Unset = UNSET
    if not isinstance(event_type, Unset):
        json_event_type = event_type.value

    params["event_type"] = json_event_type

    params["token_digest"] = token_digest

    json_since: str | Unset = UNSET
    if not isinstance(since, Unset):
        json_since = since.isoformat()
    params["since"] = json_since

    json_until: str | Unset = UNSET
    if not isinstance(until, Unset):
        json_until = until.isoformat()
    params["until"] = json_until

    params["limit"] = limit

    json_cursor: str | Unset = UNSET
    if not isinstance(cursor, Unset):
        json_cursor = str(cursor)
    params["cursor"] = json_cursor


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/trace",
        "params": params,
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> ErrorBody | TracePage | None:
    if response.status_code == 200:
        response_200 = TracePage.from_dict(response.json())



        return response_200

    if response.status_code == 400:
        response_400 = ErrorBody.from_dict(response.json())



        return response_400

    if response.status_code == 401:
        response_401 = ErrorBody.from_dict(response.json())



        return response_401

    if response.status_code == 403:
        response_403 = ErrorBody.from_dict(response.json())



        return response_403

    if response.status_code == 422:
        response_422 = ErrorBody.from_dict(response.json())



        return response_422

    if response.status_code == 500:
        response_500 = ErrorBody.from_dict(response.json())



        return response_500

    if response.status_code == 503:
        response_503 = ErrorBody.from_dict(response.json())



        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[ErrorBody | TracePage]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    mas_id: UUID | Unset = UNSET,
    user_input_id: str | Unset = UNSET,
    jti: str | Unset = UNSET,
    app_id: str | Unset = UNSET,
    decision: ListTraceDecision | Unset = UNSET,
    event_type: ListTraceEventType | Unset = UNSET,
    token_digest: str | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: UUID | Unset = UNSET,

) -> Response[ErrorBody | TracePage]:
    """ Trace events, newest first, with filters and cursor pagination.

    Args:
        mas_id (UUID | Unset):
        user_input_id (str | Unset):
        jti (str | Unset):
        app_id (str | Unset):
        decision (ListTraceDecision | Unset):
        event_type (ListTraceEventType | Unset):
        token_digest (str | Unset):
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):
        limit (int | Unset):
        cursor (UUID | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | TracePage]
     """


    kwargs = _get_kwargs(
        mas_id=mas_id,
user_input_id=user_input_id,
jti=jti,
app_id=app_id,
decision=decision,
event_type=event_type,
token_digest=token_digest,
since=since,
until=until,
limit=limit,
cursor=cursor,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient,
    mas_id: UUID | Unset = UNSET,
    user_input_id: str | Unset = UNSET,
    jti: str | Unset = UNSET,
    app_id: str | Unset = UNSET,
    decision: ListTraceDecision | Unset = UNSET,
    event_type: ListTraceEventType | Unset = UNSET,
    token_digest: str | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: UUID | Unset = UNSET,

) -> ErrorBody | TracePage | None:
    """ Trace events, newest first, with filters and cursor pagination.

    Args:
        mas_id (UUID | Unset):
        user_input_id (str | Unset):
        jti (str | Unset):
        app_id (str | Unset):
        decision (ListTraceDecision | Unset):
        event_type (ListTraceEventType | Unset):
        token_digest (str | Unset):
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):
        limit (int | Unset):
        cursor (UUID | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | TracePage
     """


    return sync_detailed(
        client=client,
mas_id=mas_id,
user_input_id=user_input_id,
jti=jti,
app_id=app_id,
decision=decision,
event_type=event_type,
token_digest=token_digest,
since=since,
until=until,
limit=limit,
cursor=cursor,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    mas_id: UUID | Unset = UNSET,
    user_input_id: str | Unset = UNSET,
    jti: str | Unset = UNSET,
    app_id: str | Unset = UNSET,
    decision: ListTraceDecision | Unset = UNSET,
    event_type: ListTraceEventType | Unset = UNSET,
    token_digest: str | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: UUID | Unset = UNSET,

) -> Response[ErrorBody | TracePage]:
    """ Trace events, newest first, with filters and cursor pagination.

    Args:
        mas_id (UUID | Unset):
        user_input_id (str | Unset):
        jti (str | Unset):
        app_id (str | Unset):
        decision (ListTraceDecision | Unset):
        event_type (ListTraceEventType | Unset):
        token_digest (str | Unset):
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):
        limit (int | Unset):
        cursor (UUID | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | TracePage]
     """


    kwargs = _get_kwargs(
        mas_id=mas_id,
user_input_id=user_input_id,
jti=jti,
app_id=app_id,
decision=decision,
event_type=event_type,
token_digest=token_digest,
since=since,
until=until,
limit=limit,
cursor=cursor,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient,
    mas_id: UUID | Unset = UNSET,
    user_input_id: str | Unset = UNSET,
    jti: str | Unset = UNSET,
    app_id: str | Unset = UNSET,
    decision: ListTraceDecision | Unset = UNSET,
    event_type: ListTraceEventType | Unset = UNSET,
    token_digest: str | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: UUID | Unset = UNSET,

) -> ErrorBody | TracePage | None:
    """ Trace events, newest first, with filters and cursor pagination.

    Args:
        mas_id (UUID | Unset):
        user_input_id (str | Unset):
        jti (str | Unset):
        app_id (str | Unset):
        decision (ListTraceDecision | Unset):
        event_type (ListTraceEventType | Unset):
        token_digest (str | Unset):
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):
        limit (int | Unset):
        cursor (UUID | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | TracePage
     """


    return (await asyncio_detailed(
        client=client,
mas_id=mas_id,
user_input_id=user_input_id,
jti=jti,
app_id=app_id,
decision=decision,
event_type=event_type,
token_digest=token_digest,
since=since,
until=until,
limit=limit,
cursor=cursor,

    )).parsed
