"""librdkafka's producer (through confluent-kafka's Python binding, which bundles librdkafka with gzip, snappy,
lz4 and zstd) for interoperability tests.

    python3 librdkafka_producer.py BROKERS TOPIC FILE

sends each line "COMPRESSION<TAB>KEYHEX<TAB>VALUEHEX" of FILE (an empty KEYHEX is a null key) with one producer
per compression.type, acks=all, batched (linger 100 ms), in file order; prints "produced N".
"""
import sys

from confluent_kafka import Producer


def main() -> None:
    brokers, topic, path = sys.argv[1:4]
    sent = 0
    errors = []
    producer = None
    current = None

    def delivered(err, _msg):
        if err is not None:
            errors.append(str(err))

    with open(path, encoding="ascii") as lines:
        for line in lines:
            line = line.rstrip("\n")
            if not line:
                continue
            compression, key, value = line.split("\t")
            if compression != current:
                if producer is not None:
                    producer.flush(60)
                current = compression
                producer = Producer({
                    "bootstrap.servers": brokers,
                    "compression.type": compression,
                    "acks": "all",
                    "linger.ms": 100,
                })
            producer.produce(topic, key=bytes.fromhex(key) if key else None, value=bytes.fromhex(value),
                             on_delivery=delivered)
            producer.poll(0)
            sent += 1
    if producer is not None and producer.flush(60) > 0:
        errors.append("records still undelivered after 60 s")
    if errors:
        sys.exit(f"librdkafka producer failed: {errors[:3]}")
    print(f"produced {sent}")


if __name__ == "__main__":
    main()
