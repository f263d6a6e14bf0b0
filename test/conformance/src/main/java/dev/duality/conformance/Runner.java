package dev.duality.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Comparator;
import java.util.Properties;
import java.util.function.Consumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.SessionStore;
import org.apache.kafka.streams.state.WindowStore;
import org.apache.kafka.streams.test.TestRecord;

/**
 * Runs every case of the conformance suite through Kafka Streams' TopologyTestDriver, in one JVM.
 *
 * stdin: a JSON list of cases {id, java: "Class.method", inputs: [{topic, key, value, timestamp}],
 * outputs: [topic], stores: [name]}; keys and values are base64 bytes (null for none), written by
 * Duality's serdes, which are byte for byte Kafka's. stdout: a JSON list of {id, topics: {topic:
 * [{key, value, timestamp}]}, stores: {name: {key: value} or [{key, start, end, value}]}} or
 * {id, error}. The records stay bytes, so Duality's side decodes both outputs with the same serdes.
 */
public final class Runner {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Base64.Encoder B64 = Base64.getEncoder();
  private static final Base64.Decoder UNB64 = Base64.getDecoder();
  private static final Path STATE_DIR = tempDir();

  private static Path tempDir() {
    try {
      return Files.createTempDirectory("duality-conformance-");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static void main(String[] args) throws Exception {
    JsonNode cases = JSON.readTree(System.in);
    ArrayNode results = JSON.createArrayNode();
    for (JsonNode c : cases) {
      ObjectNode result = results.addObject();
      result.set("id", c.get("id"));
      try {
        run(c, result);
      } catch (Exception | AssertionError e) {
        result.removeAll();
        result.set("id", c.get("id"));
        result.put("error", e.toString());
      }
    }
    JSON.writeValue(System.out, results);
    try (var paths = Files.walk(STATE_DIR)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  @SuppressWarnings("unchecked")
  private static void run(JsonNode c, ObjectNode result) throws Exception {
    String[] name = c.get("java").asText().split("\\.");
    Method method = Class.forName("dev.duality.conformance." + name[0]).getDeclaredMethod(name[1], StreamsBuilder.class);
    StreamsBuilder builder = new StreamsBuilder();
    method.invoke(null, builder);

    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, "conformance");
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    // Not the shared default /tmp/kafka-streams/<application id>: two runs of the suite at once
    // (two worktrees) would open each other's RocksDB stores.
    props.put(StreamsConfig.STATE_DIR_CONFIG, STATE_DIR.toString());
    // Duality's test runner sends every update of a table (its record cache is off): so does this.
    props.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
    try (TopologyTestDriver driver = new TopologyTestDriver(builder.build(), props)) {
      for (JsonNode in : c.get("inputs")) {
        TestInputTopic<byte[], byte[]> topic = driver.createInputTopic(in.get("topic").asText(), new ByteArraySerializer(), new ByteArraySerializer());
        topic.pipeInput(new TestRecord<>(bytes(in.get("key")), bytes(in.get("value")), null, in.get("timestamp").asLong()));
      }
      ObjectNode topics = result.putObject("topics");
      for (JsonNode t : c.get("outputs")) {
        ArrayNode records = topics.putArray(t.asText());
        for (TestRecord<byte[], byte[]> r : driver.createOutputTopic(t.asText(), new ByteArrayDeserializer(), new ByteArrayDeserializer()).readRecordsToList()) {
          ObjectNode o = records.addObject();
          o.put("key", r.key() == null ? null : B64.encodeToString(r.key()));
          o.put("value", r.value() == null ? null : B64.encodeToString(r.value()));
          o.put("timestamp", r.timestamp());
        }
      }
      ObjectNode stores = result.putObject("stores");
      for (JsonNode s : c.get("stores")) {
        String store = s.asText();
        KeyValueStore<Object, Object> kv = driver.getKeyValueStore(store);
        WindowStore<Object, Object> window = kv == null ? driver.getWindowStore(store) : null;
        SessionStore<Object, Object> session = kv == null && window == null ? driver.getSessionStore(store) : null;
        if (kv != null && windowedKeys(kv)) {
          // A windowed table's mapValues materializes a key-value store keyed by window: rows, as a window store's.
          ArrayNode rows = stores.putArray(store);
          each(kv.all(), e -> row(rows, new KeyValue<>((Windowed<Object>) e.key, e.value)));
        } else if (kv != null) {
          ObjectNode map = stores.putObject(store);
          each(kv.all(), e -> map.set(String.valueOf(e.key), JSON.valueToTree(e.value)));
        } else if (window != null) {
          ArrayNode rows = stores.putArray(store);
          each(window.all(), e -> row(rows, e));
        } else if (session != null) {
          ArrayNode rows = stores.putArray(store);
          each(session.fetch(null, null), e -> row(rows, e));
        }
      }
    }
  }

  private static boolean windowedKeys(KeyValueStore<Object, Object> kv) {
    try (KeyValueIterator<Object, Object> it = kv.all()) {
      return it.hasNext() && it.peekNextKey() instanceof Windowed;
    }
  }

  private static byte[] bytes(JsonNode b64) {
    return b64 == null || b64.isNull() ? null : UNB64.decode(b64.asText());
  }

  private static <K, V> void each(KeyValueIterator<K, V> it, Consumer<KeyValue<K, V>> f) {
    try (it) {
      it.forEachRemaining(f);
    }
  }

  private static void row(ArrayNode rows, KeyValue<Windowed<Object>, Object> e) {
    ObjectNode row = rows.addObject();
    row.set("key", JSON.valueToTree(e.key.key()));
    row.put("start", e.key.window().start());
    row.put("end", e.key.window().end());
    row.set("value", JSON.valueToTree(e.value));
  }
}
