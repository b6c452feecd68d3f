"""MQTT: the message-source port, the wire codec, connections, subscriber and publisher."""
