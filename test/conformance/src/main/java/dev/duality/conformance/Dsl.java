package dev.duality.conformance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.SessionStore;
import org.apache.kafka.streams.state.WindowStore;

/** What the cases share: Duality's serdes as Kafka serdes, JSON values, windowed keys as Duality writes them. */
final class Dsl {
  private Dsl() {}

  static final ObjectMapper MAPPER = new ObjectMapper();
  static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  static final Serde<String> STRING = Serdes.String();
  static final Serde<Long> LONG = Serdes.Long();
  /** Duality's `json` serde: UTF-8 JSON text; null is a tombstone. */
  static final Serde<JsonNode> JSON = Serdes.serdeFrom(
      (topic, v) -> {
        try {
          return v == null ? null : MAPPER.writeValueAsBytes(v);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      },
      (topic, b) -> {
        try {
          return b == null ? null : MAPPER.readTree(b);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });

  /** A source stream as Duality's defaults read it: string keys, json values. */
  static KStream<String, JsonNode> stream(org.apache.kafka.streams.StreamsBuilder b, String topic) {
    return b.stream(topic, Consumed.with(STRING, JSON));
  }

  static Grouped<String, JsonNode> grouped() {
    return Grouped.with(STRING, JSON);
  }

  static Produced<String, JsonNode> json() {
    return Produced.with(STRING, JSON);
  }

  static Produced<String, Long> longs() {
    return Produced.with(STRING, LONG);
  }

  static <V> Materialized<String, V, KeyValueStore<Bytes, byte[]>> kv(String name, Serde<V> values) {
    return Materialized.<String, V, KeyValueStore<Bytes, byte[]>>as(name).withKeySerde(STRING).withValueSerde(values);
  }

  /**
   * Duality's default retention of windows and sessions (docs/language.md, Windows: the larger of
   * size + grace and one day, so one day in every case here). Kafka Streams' default is size + grace
   * (gap + grace): cases/windows/tumbling-count-retention.yaml keeps that difference in view.
   */
  static final Duration RETENTION = Duration.ofDays(1);

  static <V> Materialized<String, V, WindowStore<Bytes, byte[]>> window(String name, Serde<V> values) {
    return Materialized.<String, V, WindowStore<Bytes, byte[]>>as(name).withKeySerde(STRING).withValueSerde(values).withRetention(RETENTION);
  }

  static <V> Materialized<String, V, SessionStore<Bytes, byte[]>> session(String name, Serde<V> values) {
    return Materialized.<String, V, SessionStore<Bytes, byte[]>>as(name).withKeySerde(STRING).withValueSerde(values).withRetention(RETENTION);
  }

  /** A windowed key as Duality writes it on a topic: JSON {key, start, end} (docs/language.md, Serdes). */
  static JsonNode windowedKeyOf(Windowed<String> wk, Object value) {
    ObjectNode k = NODES.objectNode();
    k.put("key", wk.key());
    k.put("start", wk.window().start());
    k.put("end", wk.window().end());
    return k;
  }

  static <V> Produced<JsonNode, V> windowed(Serde<V> values) {
    return Produced.with(JSON, values);
  }

  static JsonNode num(double d) {
    return d == Math.rint(d) && Math.abs(d) < 9007199254740992d ? NODES.numberNode((long) d) : NODES.numberNode(d);
  }

  /** A JSON string as the String key it makes; JSON null (or nothing) as a null key. */
  static String text(JsonNode v) {
    return v == null || v.isNull() ? null : v.asText();
  }

  static double qty(JsonNode v) {
    return v.get("qty").asDouble();
  }

  static ObjectNode object(Object... kv) {
    ObjectNode o = NODES.objectNode();
    for (int i = 0; i < kv.length; i += 2) o.set((String) kv[i], MAPPER.valueToTree(kv[i + 1]));
    return o;
  }

  /** The `aggregate` of cases/aggregations/aggregate.yaml and sliding-aggregate.yaml: {n, skus} with each record's sku added. */
  static JsonNode summary() {
    return object("n", 0, "skus", NODES.arrayNode());
  }

  static JsonNode addSku(JsonNode agg, JsonNode v) {
    ObjectNode next = object("n", agg.get("n").asLong() + 1);
    ArrayNode skus = ((ArrayNode) agg.get("skus")).deepCopy();
    skus.add(v.get("sku"));
    next.set("skus", skus);
    return next;
  }

  /** avg as Kafka Streams has it: the sum and count in an aggregate (the mean follows in a mapValues). */
  static JsonNode sumCount() {
    return object("sum", 0, "count", 0);
  }

  static JsonNode addToSumCount(JsonNode agg, JsonNode v) {
    return object("sum", agg.get("sum").asDouble() + qty(v), "count", agg.get("count").asLong() + 1);
  }

  static JsonNode mean(JsonNode sumCount) {
    return num(sumCount.get("sum").asDouble() / sumCount.get("count").asDouble());
  }
}
