from enum import StrEnum

class StreamTraceDecision(StrEnum):
    ALLOWED = "allowed"
    DENIED = "denied"

    def __str__(self) -> str:
        return str(self.value)
