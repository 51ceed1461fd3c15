from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.error_body import ErrorBody
from typing import cast



def _get_kwargs(
    user_input_id: str,

) -> dict[str, Any]:
    

    

    

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/trace/session/{user_input_id}".format(user_input_id=quote(str(user_input_id), safe=""),),
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> ErrorBody | list[Any] | None:
    if response.status_code == 200:
        response_200 = cast(list[Any], response.json())

        return response_200

    if response.status_code == 401:
        response_401 = ErrorBody.from_dict(response.json())



        return response_401

    if response.status_code == 403:
        response_403 = ErrorBody.from_dict(response.json())



        return response_403

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[ErrorBody | list[Any]]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    user_input_id: str,
    *,
    client: AuthenticatedClient,

) -> Response[ErrorBody | list[Any]]:
    """ A whole session in order: the tokens issued, each exchange with its
    per-tool decisions, introspections, revocations, LLM calls.

    Args:
        user_input_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | list[Any]]
     """


    kwargs = _get_kwargs(
        user_input_id=user_input_id,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    user_input_id: str,
    *,
    client: AuthenticatedClient,

) -> ErrorBody | list[Any] | None:
    """ A whole session in order: the tokens issued, each exchange with its
    per-tool decisions, introspections, revocations, LLM calls.

    Args:
        user_input_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | list[Any]
     """


    return sync_detailed(
        user_input_id=user_input_id,
client=client,

    ).parsed

async def asyncio_detailed(
    user_input_id: str,
    *,
    client: AuthenticatedClient,

) -> Response[ErrorBody | list[Any]]:
    """ A whole session in order: the tokens issued, each exchange with its
    per-tool decisions, introspections, revocations, LLM calls.

    Args:
        user_input_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | list[Any]]
     """


    kwargs = _get_kwargs(
        user_input_id=user_input_id,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    user_input_id: str,
    *,
    client: AuthenticatedClient,

) -> ErrorBody | list[Any] | None:
    """ A whole session in order: the tokens issued, each exchange with its
    per-tool decisions, introspections, revocations, LLM calls.

    Args:
        user_input_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | list[Any]
     """


    return (await asyncio_detailed(
        user_input_id=user_input_id,
client=client,

    )).parsed
