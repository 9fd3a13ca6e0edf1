"""The claims domain: pure rules of a claim's life (state, commands, deciders, the fold,
figures, timers, KPIs). It imports no I/O library, ever (checked by import-linter)."""
