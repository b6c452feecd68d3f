"""MQTT, our way: QoS 1, persistent sessions, acknowledgements only after the commit.

port.py        ``MessageSource`` (the seam the ingester depends on) and ``Received``
wire.py        MQTT 3.1.1 and 5 packets as bytes: every encode and decode (PUBACK included)
connection.py  one asyncio client connection (keepalive, CONNACK) and the CONNECT of a
               persistent session, shared by the subscriber and the publisher
subscriber.py  ``FastSource``: the default ``MessageSource``, on wire.py
paho.py        ``PahoSource``: the ``MessageSource`` on paho-mqtt (``IOC_INGEST_CLIENT=paho``)
publisher.py   ``FastPublisher``: the QoS 1 publisher of every simulator, live and backfill,
               with its replay window for a broker that crashed
client.py      client ids, the aiomqtt client of the ordinary clients, ``PublisherClosed``
"""
