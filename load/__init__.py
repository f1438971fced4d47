"""Load tools: the login storm, its clients and statistics, and the Locust users."""
