"""The store API's inside: serializers per `_model_class`, the registry that maps a class name to
its serializer and writer, and the one entry point `services.store_objects`."""
