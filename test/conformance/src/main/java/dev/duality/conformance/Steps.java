package dev.duality.conformance;

import static dev.duality.conformance.Dsl.*;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.Branched;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Repartitioned;

/** The stream steps of cases/steps/: branch (split), repartition and peek. */
final class Steps {
  private Steps() {}

  /** `branch` of the definition `by-size`: split(Named.as("by-size-")), each branch to its own topic. */
  static void branch(StreamsBuilder b) {
    Map<String, KStream<String, JsonNode>> branches = stream(b, "in")
        .split(Named.as("by-size-"))
        .branch((k, v) -> qty(v) >= 100, Branched.as("large"))
        .branch((k, v) -> qty(v) >= 10, Branched.as("small"))
        .defaultBranch(Branched.as("tiny"));
    branches.get("by-size-large").to("large", json());
    branches.get("by-size-small").to("small", json());
    branches.get("by-size-tiny").to("tiny", json());
  }

  /** Without a default branch, a record no predicate takes is dropped. */
  static void branchNoDefault(StreamsBuilder b) {
    Map<String, KStream<String, JsonNode>> branches = stream(b, "in")
        .split(Named.as("by-size-"))
        .branch((k, v) -> qty(v) >= 100, Branched.as("large"))
        .branch((k, v) -> qty(v) >= 10, Branched.as("small"))
        .noDefaultBranch();
    branches.get("by-size-large").to("large", json());
    branches.get("by-size-small").mapValues(v -> v.get("qty")).to("small", json());
  }

  static void repartitionCount(StreamsBuilder b) {
    stream(b, "in")
        .selectKey((k, v) -> text(v.get("sku")))
        .repartition(Repartitioned.with(STRING, JSON).withNumberOfPartitions(3))
        .groupByKey(grouped())
        .count(kv("counts", LONG))
        .toStream()
        .to("out", longs());
  }

  static void repartition(StreamsBuilder b) {
    stream(b, "in").repartition(Repartitioned.with(STRING, JSON)).to("out", json());
  }

  static void peek(StreamsBuilder b) {
    stream(b, "in").peek((k, v) -> {}).filter((k, v) -> qty(v) > 1).peek((k, v) -> {}).to("out", json());
  }
}
