"""Chat exports (ChatGPT, Claude, WhatsApp, Telegram, Slack, generic JSONL) as
streams of ``Observation``s. Start with ``parse_export``; see ``detect``."""
from ingest.chats.common import ChatImport, ImportReport, SkippedItem
from ingest.chats.detect import FORMATS, detect_format, parse_export

__all__ = ["ChatImport", "FORMATS", "ImportReport", "SkippedItem", "detect_format",
           "parse_export"]
