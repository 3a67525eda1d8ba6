"""End-to-end tests: `dagster dev` (webserver and daemon) on a prepared instance."""
