from enum import StrEnum

class AppType(StrEnum):
    AGENT = "agent"
    CLIENT = "client"
    MCP_SERVER = "mcp_server"

    def __str__(self) -> str:
        return str(self.value)
