"""The use cases: order intake, the fill engine and order lifecycle, accounts and their
configurations, portfolio reads, watchlists, activities and history.  ``broker.Broker`` is
the protocol the entry points call; ``service.PaperTradingService`` (the simulator) and
``alpaca_broker.AlpacaBrokerService`` (Alpaca's paper account) implement it.  The use cases
depend on ``ports`` (a unit of work, the clock, the calendar), not on a service class."""
