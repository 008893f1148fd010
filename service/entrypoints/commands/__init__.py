"""One module per `denials` sub-command; each defines `register(app)`."""
