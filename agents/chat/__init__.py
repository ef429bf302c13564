"""Chat: a read-only agent that answers questions about the CRM and proposes jobs."""

from agents.chat.loop import AgentAnswer, run_agent
from agents.chat.tools import READ_TOOLS, read_tools
from tools.readonly import ReadOnlyCRM, WriteRefused

__all__ = ["READ_TOOLS", "AgentAnswer", "ReadOnlyCRM", "WriteRefused", "read_tools",
           "run_agent"]
