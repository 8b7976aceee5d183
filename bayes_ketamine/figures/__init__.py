"""The paper's figures, drawn from fitted artifacts only (never refitting)."""
