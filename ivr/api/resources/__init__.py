"""The API's REST resources: thin, each over a service of `ApiContext`."""
