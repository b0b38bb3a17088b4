"""One small module per framework: what to capture. Safety lives in autolog.core."""
