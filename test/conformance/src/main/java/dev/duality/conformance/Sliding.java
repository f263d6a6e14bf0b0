package dev.duality.conformance;

import static dev.duality.conformance.Dsl.*;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.EmitStrategy;
import org.apache.kafka.streams.kstream.KGroupedStream;
import org.apache.kafka.streams.kstream.SlidingWindows;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Suppressed;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.kstream.WindowedSerdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * The sliding-window aggregations of cases/windows/sliding-*.yaml (KIP-450). The stores keep
 * Duality's default retention (Dsl.RETENTION); Kafka Streams' own default would be 2 * size + grace.
 */
final class Sliding {
  private Sliding() {}

  private static final Duration S2 = Duration.ofSeconds(2);
  private static final Duration S10 = Duration.ofSeconds(10);

  private static KGroupedStream<String, JsonNode> grouped(StreamsBuilder b) {
    return stream(b, "in").groupByKey(Dsl.grouped());
  }

  private static KGroupedStream<String, JsonNode> groupedQty(StreamsBuilder b) {
    return stream(b, "in").mapValues(v -> v.get("qty")).groupByKey(Dsl.grouped());
  }

  static void count(StreamsBuilder b) {
    grouped(b)
        .windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(S10, Duration.ZERO))
        .count(window("counts", LONG))
        .toStream(Dsl::windowedKeyOf)
        .to("out", windowed(LONG));
  }

  static void countGrace(StreamsBuilder b) {
    grouped(b)
        .windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(S10, S2))
        .count(window("counts", LONG))
        .toStream(Dsl::windowedKeyOf)
        .to("out", windowed(LONG));
  }

  static void sum(StreamsBuilder b) {
    grouped(b)
        .windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(S10, S2))
        .aggregate(() -> num(0), (k, v, agg) -> num(agg.asDouble() + qty(v)), window("sums", JSON))
        .toStream(Dsl::windowedKeyOf)
        .to("out", windowed(JSON));
  }

  static void min(StreamsBuilder b) {
    groupedQty(b)
        .windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(S10, Duration.ZERO))
        .reduce((agg, v) -> v.asDouble() < agg.asDouble() ? v : agg, window("mins", JSON))
        .toStream(Dsl::windowedKeyOf)
        .to("out", windowed(JSON));
  }

  static void max(StreamsBuilder b) {
    groupedQty(b)
        .windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(S10, Duration.ZERO))
        .reduce((agg, v) -> v.asDouble() > agg.asDouble() ? v : agg, window("maxes", JSON))
        .toStream(Dsl::windowedKeyOf)
        .to("out", windowed(JSON));
  }

  static void reduce(StreamsBuilder b) {
    grouped(b)
        .windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(S10, Duration.ZERO))
        .reduce((agg, v) -> object("qty", num(qty(agg) + qty(v))), window("totals", JSON))
        .toStream(Dsl::windowedKeyOf)
        .to("out", windowed(JSON));
  }

  static void aggregate(StreamsBuilder b) {
    grouped(b)
        .windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(S10, Duration.ZERO))
        .aggregate(Dsl::summary, (k, v, agg) -> addSku(agg, v), window("summaries", JSON))
        .toStream(Dsl::windowedKeyOf)
        .to("out", windowed(JSON));
  }

  static void countFinal(StreamsBuilder b) {
    grouped(b)
        .windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(S10, S2))
        .count(window("counts", LONG))
        .suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded()))
        .toStream(Dsl::windowedKeyOf)
        .to("out", windowed(LONG));
  }

  static void countOnWindowClose(StreamsBuilder b) {
    grouped(b)
        .windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(S10, S2))
        .emitStrategy(EmitStrategy.onWindowClose())
        .count(window("counts", LONG))
        .toStream(Dsl::windowedKeyOf)
        .to("out", windowed(LONG));
  }

  static void sumFinal(StreamsBuilder b) {
    grouped(b)
        .windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(S10, S2))
        .aggregate(() -> num(0), (k, v, agg) -> num(agg.asDouble() + qty(v)), window("sums", JSON))
        .suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded()))
        .toStream(Dsl::windowedKeyOf)
        .to("out", windowed(JSON));
  }
  /** avg as Aggregations.avg has it: sum and count per window, the mean in a mapValues materialized under the table's name. */
  static void avg(StreamsBuilder b) {
    grouped(b)
        .windowedBy(SlidingWindows.ofTimeDifferenceAndGrace(S10, Duration.ZERO))
        .aggregate(
            Dsl::sumCount,
            (k, v, agg) -> addToSumCount(agg, v),
            window("avgs-sum-count", JSON))
        .mapValues(
            Dsl::mean,
            Materialized.<Windowed<String>, JsonNode, KeyValueStore<Bytes, byte[]>>as("avgs")
                .withKeySerde(WindowedSerdes.timeWindowedSerdeFrom(String.class, S10.toMillis()))
                .withValueSerde(JSON))
        .toStream(Dsl::windowedKeyOf)
        .to("out", windowed(JSON));
  }
}
