package dev.duality.bench;

import java.time.Duration;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.JoinWindows;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.state.WindowStore;

/**
 * The topologies of `npm run bench -- windows-joins`, the same as the Duality topologies the bench
 * writes (bench/windows-joins.ts):
 *
 *   java -cp 'target/kstreams-wordcount.jar:target/lib/*' dev.duality.bench.WindowsJoins \
 *     BROKERS APPLICATION_ID INPUT_TOPIC OUTPUT_TOPIC GUARANTEE COMMIT_INTERVAL_MS STATE_DIR COMPRESSION CASE [ARG]
 *
 * CASE:
 * - `window-count [RETENTION_MS]`: the input grouped by key, tumbling 1-minute windows with 10 s of
 *   grace, counted (emit changes); written with the key `<key>@<window start>` and a Long count.
 *   RETENTION_MS is the window store's retention (default Kafka Streams', size + grace).
 * - `stream-table TABLE_TOPIC`: the input inner-joined with the table, value `<event>|<row>`.
 * - `stream-stream RIGHT_TOPIC`: the input inner-joined with the right stream within 1 minute,
 *   grace 1 minute, value `<left>|<right>`.
 *
 * Run as Runner says.
 */
public final class WindowsJoins {
  public static void main(String[] args) throws InterruptedException {
    if (args.length != 9 && args.length != 10) {
      System.err.println("usage: WindowsJoins " + Runner.COMMON_ARGS + " COMPRESSION window-count|stream-table|stream-stream [ARG]");
      System.exit(2);
    }
    StreamsBuilder builder = new StreamsBuilder();
    KStream<String, String> input = builder.stream(args[2]);
    String arg = args.length == 10 ? args[9] : null;
    switch (args[8]) {
      case "window-count" -> {
        Materialized<String, Long, WindowStore<Bytes, byte[]>> store = Materialized.as("counts");
        if (arg != null) store = store.withRetention(Duration.ofMillis(Long.parseLong(arg)));
        input.groupByKey()
            .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofMinutes(1), Duration.ofSeconds(10)))
            .count(store)
            .toStream()
            .map((w, count) -> KeyValue.pair(w.key() + "@" + w.window().start(), count))
            .to(args[3], Produced.with(Serdes.String(), Serdes.Long()));
      }
      case "stream-table" -> {
        KTable<String, String> table = builder.table(arg);
        input.join(table, (event, row) -> event + "|" + row).to(args[3]);
      }
      case "stream-stream" -> {
        KStream<String, String> right = builder.stream(arg);
        input.join(right, (l, r) -> l + "|" + r, JoinWindows.ofTimeDifferenceAndGrace(Duration.ofMinutes(1), Duration.ofMinutes(1))).to(args[3]);
      }
      default -> {
        System.err.println("WindowsJoins: unknown case " + args[8]);
        System.exit(2);
      }
    }
    Runner.run("windows-joins", builder.build(), Runner.props(args, args[7]));
  }
}
