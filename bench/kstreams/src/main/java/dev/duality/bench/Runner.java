package dev.duality.bench;

import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;

/**
 * What the bench's Kafka Streams applications share: their configuration from the arguments
 * every one of them takes first (BROKERS APPLICATION_ID INPUT_TOPIC OUTPUT_TOPIC
 * at_least_once|exactly_once_v2 COMMIT_INTERVAL_MS STATE_DIR), and running a topology until
 * SIGTERM. One stream thread, default caching, String serdes by default.
 *
 * Prints `state NEW -> RUNNING` and the like on stdout (the bench waits for RUNNING); SIGTERM
 * closes the application cleanly (the JVM then exits with 143, as on any SIGTERM); a processing
 * error stops it with exit status 1.
 */
final class Runner {
  static final String COMMON_ARGS = "BROKERS APPLICATION_ID INPUT_TOPIC OUTPUT_TOPIC GUARANTEE COMMIT_INTERVAL_MS STATE_DIR";

  private Runner() {}

  /** COMPRESSION (none, gzip, snappy, lz4, zstd) is the codec of everything the application writes. */
  static Properties props(String[] args, String compression) {
    Properties props = new Properties();
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, args[1]);
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, args[4]);
    props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, args[5]);
    props.put(StreamsConfig.STATE_DIR_CONFIG, args[6]);
    props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
    if (compression != null) props.put(StreamsConfig.producerPrefix(ProducerConfig.COMPRESSION_TYPE_CONFIG), compression);
    props.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
    props.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
    return props;
  }

  static void run(String name, Topology topology, Properties props) throws InterruptedException {
    KafkaStreams streams = new KafkaStreams(topology, props);
    CountDownLatch done = new CountDownLatch(1);
    int[] status = {0};
    streams.setStateListener((now, before) -> {
      System.out.println("state " + before + " -> " + now);
      System.out.flush();
      if (now == KafkaStreams.State.NOT_RUNNING || now == KafkaStreams.State.ERROR) done.countDown();
    });
    streams.setUncaughtExceptionHandler(e -> {
      System.err.println(name + ": processing failed: " + e);
      status[0] = 1;
      return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
    });
    // SIGTERM: close, committing, and leave the group (Kafka Streams stays a member by default
    // until its session times out, and the bench deletes the group right after).
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      streams.close(CloseOptions.groupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP).withTimeout(Duration.ofSeconds(20)));
      done.countDown();
    }, name + "-shutdown"));
    streams.start();
    done.await();
    System.exit(status[0]);
  }
}
