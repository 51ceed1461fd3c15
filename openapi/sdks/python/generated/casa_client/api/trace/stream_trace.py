from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.error_body import ErrorBody
from ...models.stream_trace_decision import StreamTraceDecision
from ...types import UNSET, Unset
from typing import cast
from uuid import UUID



def _get_kwargs(
    *,
    mas_id: UUID | Unset = UNSET,
    decision: StreamTraceDecision | Unset = UNSET,
    user_input_id: str | Unset = UNSET,
    app_id: str | Unset = UNSET,
    event_type: str | Unset = UNSET,
    jti: str | Unset = UNSET,
    last_event_id: str | Unset = UNSET,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(last_event_id, Unset):
        headers["Last-Event-ID"] = last_event_id



    

    params: dict[str, Any] = {}

    json_mas_id: str | Unset = UNSET
    if not isinstance(mas_id, Unset):
        json_mas_id = str(mas_id)
    params["mas_id"] = json_mas_id

    json_decision: str | Unset = UNSET
    if not isinstance(decision, Unset):
        json_decision = decision.value

    params["decision"] = json_decision

    params["user_input_id"] = user_input_id

    params["app_id"] = app_id

    params["event_type"] = event_type

    params["jti"] = jti


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/trace/stream",
        "params": params,
    }


    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> ErrorBody | str | None:
    if response.status_code == 200:
        response_200 = response.text
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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[ErrorBody | str]:
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
    decision: StreamTraceDecision | Unset = UNSET,
    user_input_id: str | Unset = UNSET,
    app_id: str | Unset = UNSET,
    event_type: str | Unset = UNSET,
    jti: str | Unset = UNSET,
    last_event_id: str | Unset = UNSET,

) -> Response[ErrorBody | str]:
    """ Server-Sent Events: each trace event as it is written, with the same
    filters as `GET /trace`. Each event's SSE `id` is its event id; send it
    back as `Last-Event-ID` to get what was missed from the store first. A
    reader that falls behind gets a `lagged` event (`missed`: how many, or
    null when more than the replay limit) instead of a silent gap.

    Args:
        mas_id (UUID | Unset):
        decision (StreamTraceDecision | Unset):
        user_input_id (str | Unset):
        app_id (str | Unset):
        event_type (str | Unset):
        jti (str | Unset):
        last_event_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | str]
     """


    kwargs = _get_kwargs(
        mas_id=mas_id,
decision=decision,
user_input_id=user_input_id,
app_id=app_id,
event_type=event_type,
jti=jti,
last_event_id=last_event_id,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient,
    mas_id: UUID | Unset = UNSET,
    decision: StreamTraceDecision | Unset = UNSET,
    user_input_id: str | Unset = UNSET,
    app_id: str | Unset = UNSET,
    event_type: str | Unset = UNSET,
    jti: str | Unset = UNSET,
    last_event_id: str | Unset = UNSET,

) -> ErrorBody | str | None:
    """ Server-Sent Events: each trace event as it is written, with the same
    filters as `GET /trace`. Each event's SSE `id` is its event id; send it
    back as `Last-Event-ID` to get what was missed from the store first. A
    reader that falls behind gets a `lagged` event (`missed`: how many, or
    null when more than the replay limit) instead of a silent gap.

    Args:
        mas_id (UUID | Unset):
        decision (StreamTraceDecision | Unset):
        user_input_id (str | Unset):
        app_id (str | Unset):
        event_type (str | Unset):
        jti (str | Unset):
        last_event_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | str
     """


    return sync_detailed(
        client=client,
mas_id=mas_id,
decision=decision,
user_input_id=user_input_id,
app_id=app_id,
event_type=event_type,
jti=jti,
last_event_id=last_event_id,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    mas_id: UUID | Unset = UNSET,
    decision: StreamTraceDecision | Unset = UNSET,
    user_input_id: str | Unset = UNSET,
    app_id: str | Unset = UNSET,
    event_type: str | Unset = UNSET,
    jti: str | Unset = UNSET,
    last_event_id: str | Unset = UNSET,

) -> Response[ErrorBody | str]:
    """ Server-Sent Events: each trace event as it is written, with the same
    filters as `GET /trace`. Each event's SSE `id` is its event id; send it
    back as `Last-Event-ID` to get what was missed from the store first. A
    reader that falls behind gets a `lagged` event (`missed`: how many, or
    null when more than the replay limit) instead of a silent gap.

    Args:
        mas_id (UUID | Unset):
        decision (StreamTraceDecision | Unset):
        user_input_id (str | Unset):
        app_id (str | Unset):
        event_type (str | Unset):
        jti (str | Unset):
        last_event_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | str]
     """


    kwargs = _get_kwargs(
        mas_id=mas_id,
decision=decision,
user_input_id=user_input_id,
app_id=app_id,
event_type=event_type,
jti=jti,
last_event_id=last_event_id,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient,
    mas_id: UUID | Unset = UNSET,
    decision: StreamTraceDecision | Unset = UNSET,
    user_input_id: str | Unset = UNSET,
    app_id: str | Unset = UNSET,
    event_type: str | Unset = UNSET,
    jti: str | Unset = UNSET,
    last_event_id: str | Unset = UNSET,

) -> ErrorBody | str | None:
    """ Server-Sent Events: each trace event as it is written, with the same
    filters as `GET /trace`. Each event's SSE `id` is its event id; send it
    back as `Last-Event-ID` to get what was missed from the store first. A
    reader that falls behind gets a `lagged` event (`missed`: how many, or
    null when more than the replay limit) instead of a silent gap.

    Args:
        mas_id (UUID | Unset):
        decision (StreamTraceDecision | Unset):
        user_input_id (str | Unset):
        app_id (str | Unset):
        event_type (str | Unset):
        jti (str | Unset):
        last_event_id (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | str
     """


    return (await asyncio_detailed(
        client=client,
mas_id=mas_id,
decision=decision,
user_input_id=user_input_id,
app_id=app_id,
event_type=event_type,
jti=jti,
last_event_id=last_event_id,

    )).parsed
