""" Contains all the data models used in inputs/outputs """

from .act import Act
from .app import App
from .app_credentials import AppCredentials
from .app_page import AppPage
from .app_type import AppType
from .check import Check
from .client_credentials_request import ClientCredentialsRequest
from .client_credentials_request_grant_type import ClientCredentialsRequestGrantType
from .cluster_member import ClusterMember
from .cluster_member_state import ClusterMemberState
from .cluster_report import ClusterReport
from .collector_directory import CollectorDirectory
from .collector_hook import CollectorHook
from .collector_kernel_counters import CollectorKernelCounters
from .collector_report import CollectorReport
from .collector_report_accepted import CollectorReportAccepted
from .collector_report_body import CollectorReportBody
from .collector_report_findings import CollectorReportFindings
from .collector_report_lost import CollectorReportLost
from .collector_revocations import CollectorRevocations
from .create_app import CreateApp
from .create_mas import CreateMas
from .denial_body import DenialBody
from .edge import Edge
from .error_body import ErrorBody
from .health import Health
from .health_status import HealthStatus
from .intent_summary import IntentSummary
from .introspection_request import IntrospectionRequest
from .introspection_response import IntrospectionResponse
from .introspection_response_token_type import IntrospectionResponseTokenType
from .list_trace_decision import ListTraceDecision
from .list_trace_event_type import ListTraceEventType
from .llm_call_body import LlmCallBody
from .llm_call_response import LlmCallResponse
from .mas import Mas
from .mas_page import MasPage
from .realm import Realm
from .revocation_request import RevocationRequest
from .revoke_tokens import RevokeTokens
from .revoked_target import RevokedTarget
from .revoked_target_kind import RevokedTargetKind
from .revoked_tokens import RevokedTokens
from .rotated_key import RotatedKey
from .semantic import Semantic
from .semantic_params import SemanticParams
from .stats import Stats
from .stats_denials_by_check import StatsDenialsByCheck
from .stats_denials_by_reason import StatsDenialsByReason
from .stream_trace_decision import StreamTraceDecision
from .token_exchange_grant_request import TokenExchangeGrantRequest
from .token_exchange_grant_request_actor_token_type import TokenExchangeGrantRequestActorTokenType
from .token_exchange_grant_request_grant_type import TokenExchangeGrantRequestGrantType
from .token_exchange_grant_request_requested_token_type import TokenExchangeGrantRequestRequestedTokenType
from .token_exchange_grant_request_subject_token_type import TokenExchangeGrantRequestSubjectTokenType
from .token_exchange_request import TokenExchangeRequest
from .token_exchange_request_actor_token_type import TokenExchangeRequestActorTokenType
from .token_exchange_request_grant_type import TokenExchangeRequestGrantType
from .token_exchange_request_requested_token_type import TokenExchangeRequestRequestedTokenType
from .token_exchange_request_subject_token_type import TokenExchangeRequestSubjectTokenType
from .token_response import TokenResponse
from .token_response_issued_token_type import TokenResponseIssuedTokenType
from .token_response_token_type import TokenResponseTokenType
from .tool import Tool
from .tool_input_schema import ToolInputSchema
from .tool_spec import ToolSpec
from .tool_spec_input_schema import ToolSpecInputSchema
from .tool_version import ToolVersion
from .trace_page import TracePage
from .update_app import UpdateApp
from .update_mas import UpdateMas
from .user_input_view import UserInputView
from .user_input_view_intent import UserInputViewIntent

__all__ = (
    "Act",
    "App",
    "AppCredentials",
    "AppPage",
    "AppType",
    "Check",
    "ClientCredentialsRequest",
    "ClientCredentialsRequestGrantType",
    "ClusterMember",
    "ClusterMemberState",
    "ClusterReport",
    "CollectorDirectory",
    "CollectorHook",
    "CollectorKernelCounters",
    "CollectorReport",
    "CollectorReportAccepted",
    "CollectorReportBody",
    "CollectorReportFindings",
    "CollectorReportLost",
    "CollectorRevocations",
    "CreateApp",
    "CreateMas",
    "DenialBody",
    "Edge",
    "ErrorBody",
    "Health",
    "HealthStatus",
    "IntentSummary",
    "IntrospectionRequest",
    "IntrospectionResponse",
    "IntrospectionResponseTokenType",
    "ListTraceDecision",
    "ListTraceEventType",
    "LlmCallBody",
    "LlmCallResponse",
    "Mas",
    "MasPage",
    "Realm",
    "RevocationRequest",
    "RevokedTarget",
    "RevokedTargetKind",
    "RevokedTokens",
    "RevokeTokens",
    "RotatedKey",
    "Semantic",
    "SemanticParams",
    "Stats",
    "StatsDenialsByCheck",
    "StatsDenialsByReason",
    "StreamTraceDecision",
    "TokenExchangeGrantRequest",
    "TokenExchangeGrantRequestActorTokenType",
    "TokenExchangeGrantRequestGrantType",
    "TokenExchangeGrantRequestRequestedTokenType",
    "TokenExchangeGrantRequestSubjectTokenType",
    "TokenExchangeRequest",
    "TokenExchangeRequestActorTokenType",
    "TokenExchangeRequestGrantType",
    "TokenExchangeRequestRequestedTokenType",
    "TokenExchangeRequestSubjectTokenType",
    "TokenResponse",
    "TokenResponseIssuedTokenType",
    "TokenResponseTokenType",
    "Tool",
    "ToolInputSchema",
    "ToolSpec",
    "ToolSpecInputSchema",
    "ToolVersion",
    "TracePage",
    "UpdateApp",
    "UpdateMas",
    "UserInputView",
    "UserInputViewIntent",
)
