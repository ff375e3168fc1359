"""The hybrid runtime scheduler: request traces, profiles from a store, policies, a simulated host, Table II."""
