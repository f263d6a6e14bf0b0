package dev.duality.bench;

import java.util.Arrays;
import java.util.Locale;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Produced;

/**
 * Kafka Streams' WordCount (the WordCountDemo that ships with Kafka), for
 * `npm run bench -- kafka-wordcount`:
 *
 *   java -cp 'target/kstreams-wordcount.jar:target/lib/*' dev.duality.bench.WordCount \
 *     BROKERS APPLICATION_ID INPUT_TOPIC OUTPUT_TOPIC at_least_once|exactly_once_v2 COMMIT_INTERVAL_MS STATE_DIR [COMPRESSION]
 *
 * COMPRESSION (none, gzip, snappy, lz4, zstd; default none) is the codec of everything it writes:
 * output, repartition and changelog topics, as Duality's `kafka.compression`. Run as Runner says.
 */
public final class WordCount {
  public static void main(String[] args) throws InterruptedException {
    if (args.length != 7 && args.length != 8) {
      System.err.println("usage: WordCount " + Runner.COMMON_ARGS + " [COMPRESSION]");
      System.exit(2);
    }
    StreamsBuilder builder = new StreamsBuilder();
    KStream<String, String> lines = builder.stream(args[2]);
    lines.flatMapValues(value -> Arrays.asList(value.toLowerCase(Locale.getDefault()).split("\\W+")))
        .groupBy((key, word) -> word)
        .count()
        .toStream()
        .to(args[3], Produced.with(Serdes.String(), Serdes.Long()));
    Runner.run("wordcount", builder.build(), Runner.props(args, args.length == 8 ? args[7] : null));
  }
}
