"""faust stream agents: thin adapters from the input topics to the service layer. No business rules here."""
