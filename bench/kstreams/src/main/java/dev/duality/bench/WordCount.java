package dev.duality.bench;

import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
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
 * output, repartition and changelog topics, as Duality's `kafka.compression`.
 *
 * One stream thread, default caching. Prints `state NEW -> RUNNING` and the like on stdout (the
 * bench waits for RUNNING); SIGTERM closes the application cleanly (the JVM then exits with 143,
 * as on any SIGTERM); a processing error stops it with exit status 1.
 */
public final class WordCount {
  public static void main(String[] args) throws InterruptedException {
    if (args.length != 7 && args.length != 8) {
      System.err.println("usage: WordCount BROKERS APPLICATION_ID INPUT_TOPIC OUTPUT_TOPIC GUARANTEE COMMIT_INTERVAL_MS STATE_DIR [COMPRESSION]");
      System.exit(2);
    }
    Properties props = new Properties();
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, args[1]);
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, args[4]);
    props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, args[5]);
    props.put(StreamsConfig.STATE_DIR_CONFIG, args[6]);
    props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
    if (args.length == 8) props.put(StreamsConfig.producerPrefix(ProducerConfig.COMPRESSION_TYPE_CONFIG), args[7]);
    props.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
    props.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);

    StreamsBuilder builder = new StreamsBuilder();
    KStream<String, String> lines = builder.stream(args[2]);
    lines.flatMapValues(value -> Arrays.asList(value.toLowerCase(Locale.getDefault()).split("\\W+")))
        .groupBy((key, word) -> word)
        .count()
        .toStream()
        .to(args[3], Produced.with(Serdes.String(), Serdes.Long()));

    KafkaStreams streams = new KafkaStreams(builder.build(), props);
    CountDownLatch done = new CountDownLatch(1);
    int[] status = {0};
    streams.setStateListener((now, before) -> {
      System.out.println("state " + before + " -> " + now);
      System.out.flush();
      if (now == KafkaStreams.State.NOT_RUNNING || now == KafkaStreams.State.ERROR) done.countDown();
    });
    streams.setUncaughtExceptionHandler(e -> {
      System.err.println("WordCount: processing failed: " + e);
      status[0] = 1;
      return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
    });
    // SIGTERM: close, committing, and leave the group (Kafka Streams stays a member by default
    // until its session times out, and the bench deletes the group right after).
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      streams.close(CloseOptions.groupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP).withTimeout(Duration.ofSeconds(20)));
      done.countDown();
    }, "wordcount-shutdown"));
    streams.start();
    done.await();
    System.exit(status[0]);
  }
}
