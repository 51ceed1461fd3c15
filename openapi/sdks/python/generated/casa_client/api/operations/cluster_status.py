from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.cluster_report import ClusterReport
from ...models.error_body import ErrorBody
from ...types import UNSET, Unset
from typing import cast
from uuid import UUID



def _get_kwargs(
    *,
    mas_id: UUID | Unset = UNSET,

) -> dict[str, Any]:
    

    

    params: dict[str, Any] = {}

    json_mas_id: str | Unset = UNSET
    if not isinstance(mas_id, Unset):
        json_mas_id = str(mas_id)
    params["mas_id"] = json_mas_id


    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}


    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/cluster",
        "params": params,
    }


    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> ClusterReport | ErrorBody | None:
    if response.status_code == 200:
        response_200 = ClusterReport.from_dict(response.json())



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

    if response.status_code == 404:
        response_404 = ErrorBody.from_dict(response.json())



        return response_404

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[ClusterReport | ErrorBody]:
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

) -> Response[ClusterReport | ErrorBody]:
    """ This node's view of the cluster: members, their state, how many MAS each owns
    (not counted when `mas_id` is given). 404 on a node that is not one of a cluster.

    Args:
        mas_id (UUID | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ClusterReport | ErrorBody]
     """


    kwargs = _get_kwargs(
        mas_id=mas_id,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient,
    mas_id: UUID | Unset = UNSET,

) -> ClusterReport | ErrorBody | None:
    """ This node's view of the cluster: members, their state, how many MAS each owns
    (not counted when `mas_id` is given). 404 on a node that is not one of a cluster.

    Args:
        mas_id (UUID | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ClusterReport | ErrorBody
     """


    return sync_detailed(
        client=client,
mas_id=mas_id,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    mas_id: UUID | Unset = UNSET,

) -> Response[ClusterReport | ErrorBody]:
    """ This node's view of the cluster: members, their state, how many MAS each owns
    (not counted when `mas_id` is given). 404 on a node that is not one of a cluster.

    Args:
        mas_id (UUID | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ClusterReport | ErrorBody]
     """


    kwargs = _get_kwargs(
        mas_id=mas_id,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient,
    mas_id: UUID | Unset = UNSET,

) -> ClusterReport | ErrorBody | None:
    """ This node's view of the cluster: members, their state, how many MAS each owns
    (not counted when `mas_id` is given). 404 on a node that is not one of a cluster.

    Args:
        mas_id (UUID | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ClusterReport | ErrorBody
     """


    return (await asyncio_detailed(
        client=client,
mas_id=mas_id,

    )).parsed
