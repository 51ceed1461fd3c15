from enum import StrEnum

class ListTraceDecision(StrEnum):
    ALLOWED = "allowed"
    DENIED = "denied"

    def __str__(self) -> str:
        return str(self.value)
