"""What the fake framework's originals were called with (tests assert on it)."""

CALLS: list[tuple] = []
