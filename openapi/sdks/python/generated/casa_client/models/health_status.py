from enum import StrEnum

class HealthStatus(StrEnum):
    NOT_READY = "not_ready"
    OK = "ok"
    READY = "ready"

    def __str__(self) -> str:
        return str(self.value)
