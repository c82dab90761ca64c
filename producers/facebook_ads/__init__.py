"""Facebook Marketing API Insights: the typed client and the poller's source."""
