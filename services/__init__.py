"""Outside systems: one module per vendor, the shared HTTP layer, and the store."""
