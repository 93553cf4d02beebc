"""The hub's use cases, called by both the HTTP API and the console: one implementation of each
rule (a case step's confirmation status, a document's signing state). They reach storage only
through a `hub.storage.base.Store`; route handlers and console views only translate."""
