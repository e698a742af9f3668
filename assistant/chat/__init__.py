"""The assistant facade: chats, prompt assembly and the typed event stream."""
