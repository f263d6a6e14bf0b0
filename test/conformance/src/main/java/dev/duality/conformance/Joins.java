package dev.duality.conformance;

import static dev.duality.conformance.Dsl.*;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.JoinWindows;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.StreamJoined;

/** The joins of cases/joins/, with Duality's default joined value {"left": left, "right": right}. */
final class Joins {
  private Joins() {}

  private static JsonNode pair(JsonNode left, JsonNode right) {
    return object("left", left, "right", right);
  }

  private static KTable<String, JsonNode> table(StreamsBuilder b, String topic) {
    return b.table(topic, Consumed.with(STRING, JSON), kv(topic, JSON));
  }

  static void streamTableInner(StreamsBuilder b) {
    KTable<String, JsonNode> users = table(b, "users");
    stream(b, "clicks").join(users, Joins::pair).to("out", json());
  }

  static void streamTableLeft(StreamsBuilder b) {
    KTable<String, JsonNode> users = table(b, "users");
    stream(b, "clicks").leftJoin(users, Joins::pair).to("out", json());
  }

  private static final JoinWindows WITHIN_5S = JoinWindows.ofTimeDifferenceAndGrace(Duration.ofSeconds(5), Duration.ZERO);
  private static final StreamJoined<String, JsonNode, JsonNode> JOINED = StreamJoined.with(STRING, JSON, JSON);

  static void streamStreamInner(StreamsBuilder b) {
    KStream<String, JsonNode> views = stream(b, "views");
    stream(b, "clicks").join(views, Joins::pair, WITHIN_5S, JOINED).to("out", json());
  }

  static void streamStreamLeft(StreamsBuilder b) {
    KStream<String, JsonNode> views = stream(b, "views");
    stream(b, "clicks").leftJoin(views, Joins::pair, WITHIN_5S, JOINED).to("out", json());
  }

  static void streamStreamOuter(StreamsBuilder b) {
    KStream<String, JsonNode> views = stream(b, "views");
    stream(b, "clicks").outerJoin(views, Joins::pair, WITHIN_5S, JOINED).to("out", json());
  }

  static void streamStreamLeftGrace(StreamsBuilder b) {
    KStream<String, JsonNode> views = stream(b, "views");
    JoinWindows within2sGrace3s = JoinWindows.ofTimeDifferenceAndGrace(Duration.ofSeconds(2), Duration.ofSeconds(3));
    stream(b, "clicks").leftJoin(views, Joins::pair, within2sGrace3s, JOINED).to("out", json());
  }

  static void tableTableInner(StreamsBuilder b) {
    table(b, "a").join(table(b, "b"), Joins::pair, kv("joined", JSON)).toStream().to("out", json());
  }

  static void tableTableLeft(StreamsBuilder b) {
    table(b, "a").leftJoin(table(b, "b"), Joins::pair, kv("joined", JSON)).toStream().to("out", json());
  }

  static void tableTableOuter(StreamsBuilder b) {
    table(b, "a").outerJoin(table(b, "b"), Joins::pair, kv("joined", JSON)).toStream().to("out", json());
  }

  /** KTable#join / leftJoin with a foreign-key extractor (KIP-213): orders joined with the product they name. */
  static void foreignKeyInner(StreamsBuilder b) {
    KTable<String, JsonNode> products = table(b, "products");
    table(b, "orders").join(products, v -> text(v.get("product")), Joins::pair, kv("lines", JSON)).toStream().to("out", json());
  }

  static void foreignKeyLeft(StreamsBuilder b) {
    KTable<String, JsonNode> products = table(b, "products");
    table(b, "orders").leftJoin(products, v -> text(v.get("product")), Joins::pair, kv("lines", JSON)).toStream().to("out", json());
  }
}
