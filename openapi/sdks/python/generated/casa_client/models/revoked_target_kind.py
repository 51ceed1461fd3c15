from enum import StrEnum

class RevokedTargetKind(StrEnum):
    APP = "app"
    SESSION = "session"
    TOKEN = "token"

    def __str__(self) -> str:
        return str(self.value)
