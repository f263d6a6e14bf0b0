package dev.duality.conformance;

import static dev.duality.conformance.Dsl.*;

import java.time.Duration;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.EmitStrategy;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.state.WindowStore;
import org.apache.kafka.streams.kstream.SessionWindows;
import org.apache.kafka.streams.kstream.Suppressed;
import org.apache.kafka.streams.kstream.TimeWindows;

/**
 * The windowed aggregations of cases/windows/. Windowed keys go out as Duality writes them, JSON
 * {key, start, end}; `emit: final` is suppress(untilWindowCloses), Kafka Streams' one final result
 * per window, sent when stream time passes the window's end plus grace.
 */
final class Windows {
  private Windows() {}

  private static final Duration S5 = Duration.ofSeconds(5);
  private static final Duration S10 = Duration.ofSeconds(10);

  static void tumblingCount(StreamsBuilder b) {
    stream(b, "in")
        .groupByKey(grouped())
        .windowedBy(TimeWindows.ofSizeAndGrace(S10, Duration.ZERO))
        .count(window("counts", LONG))
        .toStream(Dsl::windowedKeyOf)
        .to("out", windowed(LONG));
  }

  /** Kafka Streams' default retention, size + grace: a window is gone from the store once it has closed. */
  static void tumblingCountKafkaRetention(StreamsBuilder b) {
    stream(b, "in")
        .groupByKey(grouped())
        .windowedBy(TimeWindows.ofSizeAndGrace(S10, Duration.ZERO))
        .count(Materialized.<String, Long, WindowStore<Bytes, byte[]>>as("counts").withKeySerde(STRING).withValueSerde(LONG))
        .toStream(Dsl::windowedKeyOf)
        .to("out", windowed(LONG));
  }

  static void tumblingSumGrace(StreamsBuilder b) {
    stream(b, "in")
        .groupByKey(grouped())
        .windowedBy(TimeWindows.ofSizeAndGrace(S10, S5))
        .aggregate(() -> num(0), (k, v, agg) -> num(agg.asDouble() + qty(v)), window("sums", JSON))
        .toStream(Dsl::windowedKeyOf)
        .to("out", windowed(JSON));
  }

  static void hoppingCount(StreamsBuilder b) {
    stream(b, "in")
        .groupByKey(grouped())
        .windowedBy(TimeWindows.ofSizeAndGrace(S10, Duration.ofSeconds(2)).advanceBy(S5))
        .count(window("counts", LONG))
        .toStream(Dsl::windowedKeyOf)
        .to("out", windowed(LONG));
  }

  static void tumblingCountFinal(StreamsBuilder b) {
    stream(b, "in")
        .groupByKey(grouped())
        .windowedBy(TimeWindows.ofSizeAndGrace(S10, Duration.ofSeconds(2)))
        .count(window("counts", LONG))
        .suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded()))
        .toStream(Dsl::windowedKeyOf)
        .to("out", windowed(LONG));
  }

  /** The same final results by emitStrategy(onWindowClose) (KIP-825) instead of suppress. */
  static void tumblingCountOnWindowClose(StreamsBuilder b) {
    stream(b, "in")
        .groupByKey(grouped())
        .windowedBy(TimeWindows.ofSizeAndGrace(S10, Duration.ofSeconds(2)))
        .emitStrategy(EmitStrategy.onWindowClose())
        .count(window("counts", LONG))
        .toStream(Dsl::windowedKeyOf)
        .to("out", windowed(LONG));
  }

  static void hoppingSumFinal(StreamsBuilder b) {
    stream(b, "in")
        .groupByKey(grouped())
        .windowedBy(TimeWindows.ofSizeAndGrace(S10, Duration.ZERO).advanceBy(S5))
        .aggregate(() -> num(0), (k, v, agg) -> num(agg.asDouble() + qty(v)), window("sums", JSON))
        .suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded()))
        .toStream(Dsl::windowedKeyOf)
        .to("out", windowed(JSON));
  }

  static void sessionCount(StreamsBuilder b) {
    stream(b, "in")
        .groupByKey(grouped())
        .windowedBy(SessionWindows.ofInactivityGapAndGrace(S5, Duration.ZERO))
        .count(session("sessions", LONG))
        .toStream(Dsl::windowedKeyOf)
        .to("out", windowed(LONG));
  }

  static void sessionSumGrace(StreamsBuilder b) {
    stream(b, "in")
        .groupByKey(grouped())
        .windowedBy(SessionWindows.ofInactivityGapAndGrace(S5, Duration.ofSeconds(3)))
        .aggregate(
            () -> num(0),
            (k, v, agg) -> num(agg.asDouble() + qty(v)),
            (k, a, c) -> num(a.asDouble() + c.asDouble()),
            session("sessions", JSON))
        .toStream(Dsl::windowedKeyOf)
        .to("out", windowed(JSON));
  }

  static void sessionMax(StreamsBuilder b) {
    stream(b, "in")
        .mapValues(v -> v.get("qty"))
        .groupByKey(grouped())
        .windowedBy(SessionWindows.ofInactivityGapAndGrace(S5, Duration.ZERO))
        .reduce((agg, v) -> v.asDouble() > agg.asDouble() ? v : agg, session("sessions", JSON))
        .toStream(Dsl::windowedKeyOf)
        .to("out", windowed(JSON));
  }
  /** Session `emit: final`: suppress(untilWindowCloses), a session going out once stream time passes its end + gap + grace. */
  static void sessionCountFinal(StreamsBuilder b) {
    stream(b, "in")
        .groupByKey(grouped())
        .windowedBy(SessionWindows.ofInactivityGapAndGrace(S5, Duration.ofSeconds(2)))
        .count(session("sessions", LONG))
        .suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded()))
        .toStream(Dsl::windowedKeyOf)
        .to("out", windowed(LONG));
  }

  /** The same by emitStrategy(onWindowClose) (KIP-825). */
  static void sessionCountOnWindowClose(StreamsBuilder b) {
    stream(b, "in")
        .groupByKey(grouped())
        .windowedBy(SessionWindows.ofInactivityGapAndGrace(S5, Duration.ofSeconds(2)))
        .emitStrategy(EmitStrategy.onWindowClose())
        .count(session("sessions", LONG))
        .toStream(Dsl::windowedKeyOf)
        .to("out", windowed(LONG));
  }

  static void sessionSumFinal(StreamsBuilder b) {
    stream(b, "in")
        .groupByKey(grouped())
        .windowedBy(SessionWindows.ofInactivityGapAndGrace(S5, Duration.ofSeconds(3)))
        .aggregate(
            () -> num(0),
            (k, v, agg) -> num(agg.asDouble() + qty(v)),
            (k, a, c) -> num(a.asDouble() + c.asDouble()),
            session("sessions", JSON))
        .suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded()))
        .toStream(Dsl::windowedKeyOf)
        .to("out", windowed(JSON));
  }
}
