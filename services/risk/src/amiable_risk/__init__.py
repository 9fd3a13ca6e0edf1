"""amiable risk scoring: behaviour features per debtor account, an explainable score and
segment, early warnings."""
