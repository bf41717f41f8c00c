"""The ground floor: what every app may use and that uses no app of the project (errors and
their JSON answers, the API token, immutable rows, admin and DRF building blocks, the cache
backend, which database holds an app)."""
