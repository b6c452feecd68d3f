"""The schema: versioned migrations and the dashboards' rollups."""
