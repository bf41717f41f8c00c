"""The store API and the importers: everything that writes the shop's data into the service.
`/store_object(s)` validate payloads with one serializer per `_model_class` (`registry`) and
write them through the data apps' services in one transaction per database (`services`); the
importers and `generate_demo_shop` send their payloads through the same path."""
