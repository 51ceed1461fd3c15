from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ...client import AuthenticatedClient, Client
from ...types import Response, UNSET
from ... import errors

from ...models.client_credentials_request import ClientCredentialsRequest
from ...models.error_body import ErrorBody
from ...models.token_exchange_grant_request import TokenExchangeGrantRequest
from ...models.token_response import TokenResponse
from typing import cast



def _get_kwargs(
    *,
    body: ClientCredentialsRequest | TokenExchangeGrantRequest,

) -> dict[str, Any]:
    headers: dict[str, Any] = {}


    

    

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/oauth/token",
    }

    _kwargs["data"] = body.to_dict()
    headers["Content-Type"] = "application/x-www-form-urlencoded"

    _kwargs["headers"] = headers
    return _kwargs



def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> ErrorBody | TokenResponse | None:
    if response.status_code == 200:
        response_200 = TokenResponse.from_dict(response.json())



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

    if response.status_code == 413:
        response_413 = ErrorBody.from_dict(response.json())



        return response_413

    if response.status_code == 422:
        response_422 = ErrorBody.from_dict(response.json())



        return response_422

    if response.status_code == 429:
        response_429 = ErrorBody.from_dict(response.json())



        return response_429

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[ErrorBody | TokenResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: ClientCredentialsRequest | TokenExchangeGrantRequest,

) -> Response[ErrorBody | TokenResponse]:
    """ Token endpoint: `client_credentials` issues an initial token for a user input;
    the RFC 8693 token-exchange grant does what `/oauth/token/exchange` does.

    Args:
        body (ClientCredentialsRequest | TokenExchangeGrantRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | TokenResponse]
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
    body: ClientCredentialsRequest | TokenExchangeGrantRequest,

) -> ErrorBody | TokenResponse | None:
    """ Token endpoint: `client_credentials` issues an initial token for a user input;
    the RFC 8693 token-exchange grant does what `/oauth/token/exchange` does.

    Args:
        body (ClientCredentialsRequest | TokenExchangeGrantRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | TokenResponse
     """


    return sync_detailed(
        client=client,
body=body,

    ).parsed

async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: ClientCredentialsRequest | TokenExchangeGrantRequest,

) -> Response[ErrorBody | TokenResponse]:
    """ Token endpoint: `client_credentials` issues an initial token for a user input;
    the RFC 8693 token-exchange grant does what `/oauth/token/exchange` does.

    Args:
        body (ClientCredentialsRequest | TokenExchangeGrantRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorBody | TokenResponse]
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
    body: ClientCredentialsRequest | TokenExchangeGrantRequest,

) -> ErrorBody | TokenResponse | None:
    """ Token endpoint: `client_credentials` issues an initial token for a user input;
    the RFC 8693 token-exchange grant does what `/oauth/token/exchange` does.

    Args:
        body (ClientCredentialsRequest | TokenExchangeGrantRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorBody | TokenResponse
     """


    return (await asyncio_detailed(
        client=client,
body=body,

    )).parsed
