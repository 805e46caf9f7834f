// Kafka's own Java client (kafka-clients from the test services' jars) for interoperability tests, run as a
// single-file program: `java -cp "$KAFKA_LIBS" KafkaJavaClient.java MODE ...`.
//
//   produce BROKERS TOPIC FILE               sends each line "COMPRESSION<TAB>KEYHEX<TAB>VALUEHEX" of FILE (an
//                                            empty KEYHEX is a null key) with one producer per compression.type,
//                                            acks=all, batched (linger 100 ms, 1 MiB batches), in file order;
//                                            prints "produced N"
//   consume BROKERS TOPIC COUNT TIMEOUT_MS   reads TOPIC from the beginning with a fresh group until COUNT records
//                                            or the timeout; prints "KEYHEX<TAB>VALUEHEX" per record, then
//                                            "consumed N"
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.Future;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class KafkaJavaClient {
  private static final HexFormat HEX = HexFormat.of();

  public static void main(String[] args) throws Exception {
    String mode = args[0];
    String brokers = args[1];
    String topic = args[2];
    if (mode.equals("produce")) {
      produce(brokers, topic, Path.of(args[3]));
    } else if (mode.equals("consume")) {
      consume(brokers, topic, Integer.parseInt(args[3]), Long.parseLong(args[4]));
    } else {
      throw new IllegalArgumentException("unknown mode " + mode + ", expected produce or consume");
    }
  }

  private static void produce(String brokers, String topic, Path file) throws Exception {
    List<Future<RecordMetadata>> sent = new ArrayList<>();
    KafkaProducer<byte[], byte[]> producer = null;
    String current = null;
    try {
      for (String line : Files.readAllLines(file)) {
        if (line.isEmpty()) continue;
        String[] fields = line.split("\t", -1);
        if (!fields[0].equals(current)) {
          if (producer != null) close(producer, sent);
          current = fields[0];
          producer = producer(brokers, current);
        }
        byte[] key = fields[1].isEmpty() ? null : HEX.parseHex(fields[1]);
        sent.add(producer.send(new ProducerRecord<>(topic, key, HEX.parseHex(fields[2]))));
      }
    } finally {
      if (producer != null) close(producer, sent);
    }
    System.out.println("produced " + sent.size());
  }

  private static KafkaProducer<byte[], byte[]> producer(String brokers, String compression) {
    Properties props = new Properties();
    props.put("bootstrap.servers", brokers);
    props.put("compression.type", compression);
    props.put("acks", "all");
    props.put("linger.ms", "100");
    props.put("batch.size", "1048576");
    props.put("key.serializer", ByteArraySerializer.class.getName());
    props.put("value.serializer", ByteArraySerializer.class.getName());
    return new KafkaProducer<>(props);
  }

  private static void close(KafkaProducer<byte[], byte[]> producer, List<Future<RecordMetadata>> sent)
      throws Exception {
    producer.flush();
    for (Future<RecordMetadata> f : sent) f.get();
    producer.close();
  }

  private static void consume(String brokers, String topic, int count, long timeoutMs) {
    Properties props = new Properties();
    props.put("bootstrap.servers", brokers);
    props.put("group.id", "java-" + UUID.randomUUID());
    props.put("auto.offset.reset", "earliest");
    props.put("enable.auto.commit", "false");
    props.put("key.deserializer", ByteArrayDeserializer.class.getName());
    props.put("value.deserializer", ByteArrayDeserializer.class.getName());
    long deadline = System.currentTimeMillis() + timeoutMs;
    int seen = 0;
    StringBuilder out = new StringBuilder();
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props)) {
      consumer.subscribe(List.of(topic));
      while (seen < count && System.currentTimeMillis() < deadline) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
          out.append(r.key() == null ? "" : HEX.formatHex(r.key())).append('\t')
              .append(r.value() == null ? "" : HEX.formatHex(r.value())).append('\n');
          seen++;
        }
      }
    }
    System.out.print(out);
    System.out.println("consumed " + seen);
  }
}
