from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.collector_revocations import CollectorRevocations
from ...models.error_body import ErrorBody
from typing import cast
from uuid import UUID



def _get_kwargs(
    mas_id: UUID,

) -> dict[str, Any]:
    

    

    

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/collector/revocations/{mas_id}".format(mas_id=quote(str(mas_id), safe=""),),
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> CollectorRevocations | ErrorBody | None:
    if response.status_code == 200:
        response_200 = CollectorRevocations.from_dict(response.json())



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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[CollectorRevocations | ErrorBody]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    mas_id: UUID,
    *,
    client: AuthenticatedClient,

) -> Response[CollectorRevocations | ErrorBody]:
    """ One realm's revocation rules, read fresh from the store: a collector
    re-reads them before judging uses of the realm's tokens.

    Args:
        mas_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CollectorRevocations | ErrorBody]
     """


    kwargs = _get_kwargs(
        mas_id=mas_id,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    mas_id: UUID,
    *,
    client: AuthenticatedClient,

) -> CollectorRevocations | ErrorBody | None:
    """ One realm's revocation rules, read fresh from the store: a collector
    re-reads them before judging uses of the realm's tokens.

    Args:
        mas_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CollectorRevocations | ErrorBody
     """


    return sync_detailed(
        mas_id=mas_id,
client=client,

    ).parsed

async def asyncio_detailed(
    mas_id: UUID,
    *,
    client: AuthenticatedClient,

) -> Response[CollectorRevocations | ErrorBody]:
    """ One realm's revocation rules, read fresh from the store: a collector
    re-reads them before judging uses of the realm's tokens.

    Args:
        mas_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CollectorRevocations | ErrorBody]
     """


    kwargs = _get_kwargs(
        mas_id=mas_id,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    mas_id: UUID,
    *,
    client: AuthenticatedClient,

) -> CollectorRevocations | ErrorBody | None:
    """ One realm's revocation rules, read fresh from the store: a collector
    re-reads them before judging uses of the realm's tokens.

    Args:
        mas_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CollectorRevocations | ErrorBody
     """


    return (await asyncio_detailed(
        mas_id=mas_id,
client=client,

    )).parsed
