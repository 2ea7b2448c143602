"""Jobs across platforms and sites: batched state refresh, listing, watching, outputs."""
