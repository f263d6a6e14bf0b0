package dev.duality.conformance;

import static dev.duality.conformance.Dsl.*;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KTable;

/** The table steps of cases/tables/: a source table is materialized under its name, as Duality keeps it. */
final class Tables {
  private Tables() {}

  private static KTable<String, JsonNode> items(StreamsBuilder b) {
    return b.table("items", Consumed.with(STRING, JSON), kv("items", JSON));
  }

  static void filter(StreamsBuilder b) {
    items(b).filter((k, v) -> qty(v) >= 10, kv("big", JSON)).toStream().to("out", json());
  }

  static void mapValues(StreamsBuilder b) {
    items(b).mapValues(v -> (JsonNode) object("double", num(qty(v) * 2)), kv("doubled", JSON)).toStream().to("out", json());
  }

  static void toStream(StreamsBuilder b) {
    items(b).toStream().to("out", json());
  }

  static void toTable(StreamsBuilder b) {
    stream(b, "in").toTable(kv("latest", JSON)).toStream().to("out", json());
  }

  static void streamFilterMapValues(StreamsBuilder b) {
    stream(b, "in").filter((k, v) -> qty(v) >= 10).mapValues(v -> (JsonNode) object("qty", v.get("qty"))).to("out", json());
  }

  /** KTable#groupBy then count: a row that changes group is subtracted from the old one. */
  static void groupByCount(StreamsBuilder b) {
    items(b).groupBy((k, v) -> KeyValue.pair(text(v.get("sku")), v), grouped()).count(kv("per-sku", LONG)).toStream().to("out", longs());
  }

  /** KTable#groupBy then reduce with adder and subtractor over the rows' qty. */
  static void groupByReduce(StreamsBuilder b) {
    items(b)
        .groupBy((k, v) -> KeyValue.pair(text(v.get("sku")), v.get("qty")), grouped())
        .reduce((agg, v) -> num(agg.asDouble() + v.asDouble()), (agg, v) -> num(agg.asDouble() - v.asDouble()), kv("qty-per-sku", JSON))
        .toStream()
        .to("out", json());
  }
}
