package dev.duality.serdes;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * produce --format avro|protobuf|json-schema --brokers B --registry URL --topic T --schema v1|v2 --count N [--schemas DIR]
 * consume --format avro|protobuf|json-schema --brokers B --registry URL --topic T --count N --timeout-ms M
 *
 * Both print one JSON line per record on stdout: {"key":..,"value":..}; consume adds the schema id
 * and the first bytes of the value as they were on the wire. Exit 2 on bad arguments, 1 on failure.
 */
public final class Main {
    public static void main(String[] argv) {
        try {
            if (argv.length == 0) throw new IllegalArgumentException("usage: produce|consume --format F --brokers B --registry URL --topic T ...");
            Map<String, String> a = options(argv);
            Formats format = Formats.parse(need(a, "format"));
            switch (argv[0]) {
                case "produce" -> produce(format, a);
                case "consume" -> consume(format, a);
                default -> throw new IllegalArgumentException("the command must be produce or consume, not '" + argv[0] + "'");
            }
        } catch (IllegalArgumentException e) {
            System.err.println("serdes-interop: " + e.getMessage());
            System.exit(2);
        } catch (Exception e) {
            System.err.println("serdes-interop: " + e);
            e.printStackTrace();
            System.exit(1);
        }
        System.exit(0);
    }

    private static void produce(Formats format, Map<String, String> a) throws Exception {
        String registry = need(a, "registry"), topic = need(a, "topic"), version = a.getOrDefault("schema", "v1");
        if (!version.equals("v1") && !version.equals("v2")) throw new IllegalArgumentException("--schema must be v1 or v2");
        int count = Integer.parseInt(need(a, "count"));
        String schemaText = Formats.readSchema(Path.of(a.getOrDefault("schemas", "schemas")), format.schemaFile(version));
        if (!format.autoRegisters()) register(registry, topic + "-value", format, schemaText);

        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, need(a, "brokers"));
        ensureTopic(p, topic);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        try (Serializer<Object> values = format.serializer(registry);
             KafkaProducer<String, Object> producer = new KafkaProducer<>(p, new StringSerializer(), values)) {
            for (int i = 0; i < count; i++) {
                ObjectNode order = Formats.order(i, version);
                String key = order.get("id").asText();
                producer.send(new ProducerRecord<>(topic, key, format.toValue(order, schemaText))).get();
                ObjectNode line = Formats.JSON.createObjectNode();
                line.put("key", key);
                line.set("value", order);
                System.out.println(Formats.JSON.writeValueAsString(line));
            }
        }
    }

    private static void consume(Formats format, Map<String, String> a) throws Exception {
        String topic = need(a, "topic");
        int count = Integer.parseInt(need(a, "count"));
        long deadline = System.currentTimeMillis() + Long.parseLong(a.getOrDefault("timeout-ms", "30000"));
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, need(a, "brokers"));
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        int seen = 0;
        try (Deserializer<Object> values = format.deserializer(need(a, "registry"));
             KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> parts = new ArrayList<>();
            while (parts.isEmpty() && System.currentTimeMillis() < deadline) {
                var infos = consumer.partitionsFor(topic, Duration.ofSeconds(5));
                if (infos != null) infos.forEach(i -> parts.add(new TopicPartition(topic, i.partition())));
            }
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            while (seen < count && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    byte[] b = r.value();
                    ObjectNode line = Formats.JSON.createObjectNode();
                    line.put("key", r.key());
                    line.set("value", Formats.toJson(values.deserialize(topic, r.headers(), b)));
                    if (b != null && b.length >= 5) line.put("schemaId", ((b[1] & 0xff) << 24) | ((b[2] & 0xff) << 16) | ((b[3] & 0xff) << 8) | (b[4] & 0xff));
                    if (b != null) line.put("wire", HexFormat.of().formatHex(b, 0, Math.min(b.length, 16)));
                    System.out.println(Formats.JSON.writeValueAsString(line));
                    seen++;
                }
            }
        }
        if (seen < count) throw new IllegalStateException("read " + seen + " of " + count + " records from " + topic + " before the timeout");
    }

    /** The broker does not create topics on first use (kafka/server.properties.template): one partition, made here. */
    private static void ensureTopic(Properties p, String topic) throws Exception {
        try (Admin admin = Admin.create(p)) {
            if (admin.listTopics().names().get().contains(topic)) return;
            try {
                admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get();
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof TopicExistsException)) throw e;
            }
        }
    }

    /** Registers a schema under a subject through the registry's Confluent-compatible API; prints its id on stderr. */
    private static void register(String registry, String subject, Formats format, String schemaText) throws Exception {
        ObjectNode body = Formats.JSON.createObjectNode();
        body.put("schemaType", format.confluentType());
        body.put("schema", schemaText);
        HttpResponse<String> res = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create(registry + "/apis/ccompat/v7/subjects/" + subject + "/versions"))
                        .header("Content-Type", "application/vnd.schemaregistry.v1+json")
                        .POST(HttpRequest.BodyPublishers.ofString(Formats.JSON.writeValueAsString(body))).build(),
                HttpResponse.BodyHandlers.ofString());
        if (res.statusCode() != 200) throw new IllegalStateException("registering " + subject + ": HTTP " + res.statusCode() + " " + res.body());
        System.err.println("serdes-interop: registered " + subject + " " + res.body());
    }

    private static Map<String, String> options(String[] argv) {
        Map<String, String> m = new HashMap<>();
        for (int i = 1; i < argv.length; i += 2) {
            if (!argv[i].startsWith("--") || i + 1 >= argv.length) throw new IllegalArgumentException("expected --name value, got '" + argv[i] + "'");
            m.put(argv[i].substring(2), argv[i + 1]);
        }
        return m;
    }

    private static String need(Map<String, String> a, String name) {
        String v = a.get(name);
        if (v == null) throw new IllegalArgumentException("--" + name + " is required");
        return v;
    }
}
