"""The ingest path: MQTT message -> validated event or dead letter -> stored row."""
