from enum import StrEnum

class ListTraceEventType(StrEnum):
    ADMIN_CHANGE = "admin_change"
    EXCHANGE_ALLOWED = "exchange_allowed"
    EXCHANGE_DENIED = "exchange_denied"
    EXCHANGE_REJECTED = "exchange_rejected"
    INTROSPECTION = "introspection"
    KEY_ROTATED = "key_rotated"
    LLM_CALL = "llm_call"
    REVOCATION = "revocation"
    TOKEN_ISSUED = "token_issued"
    WIRE_AUDIENCE_MISMATCH = "wire_audience_mismatch"
    WIRE_INVALID_TOKEN_ACCEPTED = "wire_invalid_token_accepted"
    WIRE_TOKEN_EXFILTRATION = "wire_token_exfiltration"
    WIRE_TOKEN_EXPIRED = "wire_token_expired"
    WIRE_TOKEN_IN_QUERY = "wire_token_in_query"
    WIRE_TOKEN_PASSTHROUGH = "wire_token_passthrough"
    WIRE_TOKEN_REPLAYED_ELSEWHERE = "wire_token_replayed_elsewhere"
    WIRE_TOKEN_REVOKED = "wire_token_revoked"
    WIRE_TOKEN_SEEN = "wire_token_seen"
    WIRE_TOKEN_UNVERIFIABLE = "wire_token_unverifiable"
    WIRE_TOOL_NOT_IN_TOKEN = "wire_tool_not_in_token"
    WIRE_UNAUTHENTICATED_TOOL_CALL = "wire_unauthenticated_tool_call"

    def __str__(self) -> str:
        return str(self.value)
