from enum import StrEnum

class ClusterMemberState(StrEnum):
    ALIVE = "alive"
    DOWN = "down"
    SELF = "self"
    SUSPECT = "suspect"

    def __str__(self) -> str:
        return str(self.value)
