from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.collector_report_accepted import CollectorReportAccepted
from ...models.collector_report_body import CollectorReportBody
from ...models.error_body import ErrorBody
from typing import cast



def _get_kwargs(
    *,
    body: CollectorReportBody,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}


    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/collector/events",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> CollectorReportAccepted | ErrorBody | None:
    if response.status_code == 200:
        response_200 = CollectorReportAccepted.from_dict(response.json())



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

    if response.status_code == 413:
        response_413 = ErrorBody.from_dict(response.json())



        return response_413

    if response.status_code == 415:
        response_415 = ErrorBody.from_dict(response.json())



        return response_415

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[CollectorReportAccepted | ErrorBody]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: CollectorReportBody,

) -> Response[CollectorReportAccepted | ErrorBody]:
    """ Findings of a `casa collect` process, written to this node's trace.
    Only `wire_*` events are accepted; ids, times and chain hashes are
    this node's.

    Args:
        body (CollectorReportBody): `wire_*` trace events judged by a `casa collect` process.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CollectorReportAccepted | ErrorBody]
     """


    kwargs = _get_kwargs(
        body=body,

    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)

def sync(
    *,
    client: AuthenticatedClient,
    body: CollectorReportBody,

) -> CollectorReportAccepted | ErrorBody | None:
    """ Findings of a `casa collect` process, written to this node's trace.
    Only `wire_*` events are accepted; ids, times and chain hashes are
    this node's.

    Args:
        body (CollectorReportBody): `wire_*` trace events judged by a `casa collect` process.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CollectorReportAccepted | ErrorBody
     """


    return sync_detailed(
        client=client,
body=body,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: CollectorReportBody,

) -> Response[CollectorReportAccepted | ErrorBody]:
    """ Findings of a `casa collect` process, written to this node's trace.
    Only `wire_*` events are accepted; ids, times and chain hashes are
    this node's.

    Args:
        body (CollectorReportBody): `wire_*` trace events judged by a `casa collect` process.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CollectorReportAccepted | ErrorBody]
     """


    kwargs = _get_kwargs(
        body=body,

    )

    response = await client.get_async_httpx_client().request(
        **kwargs
    )

    return _build_response(client=client, response=response)

async def asyncio(
    *,
    client: AuthenticatedClient,
    body: CollectorReportBody,

) -> CollectorReportAccepted | ErrorBody | None:
    """ Findings of a `casa collect` process, written to this node's trace.
    Only `wire_*` events are accepted; ids, times and chain hashes are
    this node's.

    Args:
        body (CollectorReportBody): `wire_*` trace events judged by a `casa collect` process.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CollectorReportAccepted | ErrorBody
     """


    return (await asyncio_detailed(
        client=client,
body=body,

    )).parsed
