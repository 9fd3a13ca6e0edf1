"""amiable communications: the message of each dunning step, in the debtor's language and the
step's tone (issue 12; the service itself is still to be built)."""
