"""What the assistant remembers about the user, under the user's control."""
