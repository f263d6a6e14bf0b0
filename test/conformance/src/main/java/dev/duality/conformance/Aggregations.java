package dev.duality.conformance;

import static dev.duality.conformance.Dsl.*;

import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.Consumed;

/** The aggregations of cases/aggregations/, each the Kafka Streams DSL of its topology. */
final class Aggregations {
  private Aggregations() {}

  static void count(StreamsBuilder b) {
    stream(b, "in").groupByKey(grouped()).count(kv("counts", LONG)).toStream().to("out", longs());
  }

  static void countGroupBy(StreamsBuilder b) {
    stream(b, "in")
        .groupBy((k, v) -> text(v.get("sku")), grouped())
        .count(kv("counts", LONG))
        .toStream()
        .to("out", longs());
  }

  static void countTableChanges(StreamsBuilder b) {
    b.table("items", Consumed.with(STRING, JSON), kv("items", JSON))
        .toStream()
        // The mapper sees the table's deletes too: Kafka Streams drops them (null value) after it.
        .groupBy((k, v) -> v == null ? null : text(v.get("sku")), grouped())
        .count(kv("changes", LONG))
        .toStream()
        .to("out", longs());
  }

  static void sum(StreamsBuilder b) {
    stream(b, "in")
        .groupByKey(grouped())
        .aggregate(() -> num(0), (k, v, agg) -> num(agg.asDouble() + qty(v)), kv("sums", JSON))
        .toStream()
        .to("out", json());
  }

  static void min(StreamsBuilder b) {
    stream(b, "in")
        .mapValues(v -> v.get("qty"))
        .groupByKey(grouped())
        .reduce((agg, v) -> v.asDouble() < agg.asDouble() ? v : agg, kv("mins", JSON))
        .toStream()
        .to("out", json());
  }

  static void max(StreamsBuilder b) {
    stream(b, "in")
        .mapValues(v -> v.get("qty"))
        .groupByKey(grouped())
        .reduce((agg, v) -> v.asDouble() > agg.asDouble() ? v : agg, kv("maxes", JSON))
        .toStream()
        .to("out", json());
  }

  /** Kafka Streams has no avg: the sum and count in an aggregate, the mean in a mapValues. */
  static void avg(StreamsBuilder b) {
    stream(b, "in")
        .groupByKey(grouped())
        .aggregate(
            Dsl::sumCount,
            (k, v, agg) -> addToSumCount(agg, v),
            kv("avgs-sum-count", JSON))
        .mapValues(Dsl::mean, kv("avgs", JSON))
        .toStream()
        .to("out", json());
  }

  static void reduce(StreamsBuilder b) {
    stream(b, "in")
        .groupByKey(grouped())
        .reduce((agg, v) -> object("qty", num(qty(agg) + qty(v))), kv("totals", JSON))
        .toStream()
        .to("out", json());
  }

  static void aggregate(StreamsBuilder b) {
    stream(b, "in")
        .groupByKey(grouped())
        .aggregate(Dsl::summary, (k, v, agg) -> addSku(agg, v), kv("summaries", JSON))
        .toStream()
        .to("out", json());
  }
}
