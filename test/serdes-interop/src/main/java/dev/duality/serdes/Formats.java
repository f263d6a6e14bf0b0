package dev.duality.serdes;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.DynamicMessage;
import io.apicurio.registry.serde.SerdeConfig;
import io.apicurio.registry.serde.avro.AvroKafkaDeserializer;
import io.apicurio.registry.serde.avro.AvroKafkaSerializer;
import io.apicurio.registry.serde.jsonschema.JsonSchemaKafkaDeserializer;
import io.apicurio.registry.serde.jsonschema.JsonSchemaKafkaSerializer;
import io.apicurio.registry.utils.protobuf.schema.FileDescriptorUtils;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;

/** The three formats: their serdes, configured for the Confluent wire format, and the order records. */
enum Formats {
    AVRO("avro"), PROTOBUF("protobuf"), JSON_SCHEMA("json-schema");

    static final ObjectMapper JSON = new ObjectMapper();
    final String cli;

    Formats(String cli) {
        this.cli = cli;
    }

    static Formats parse(String s) {
        for (Formats f : values()) if (f.cli.equals(s)) return f;
        throw new IllegalArgumentException("--format must be avro, protobuf or json-schema, not '" + s + "'");
    }

    String schemaFile(String version) {
        return switch (this) {
            case AVRO -> "order-" + version + ".avsc";
            case PROTOBUF -> "order-" + version + ".proto";
            case JSON_SCHEMA -> "order-" + version + ".schema.json";
        };
    }

    /** The Confluent API's schemaType for this format. */
    String confluentType() {
        return switch (this) {
            case AVRO -> "AVRO";
            case PROTOBUF -> "PROTOBUF";
            case JSON_SCHEMA -> "JSON";
        };
    }

    /**
     * What makes Apicurio's serdes speak Confluent's wire format: the 4-byte id handler
     * (as-confluent), ids that are content ids (what the registry's ccompat API calls schema ids),
     * and the id in the payload instead of in record headers.
     */
    static Map<String, Object> serdeConfig(String registryUrl, boolean autoRegister) {
        Map<String, Object> c = new HashMap<>();
        c.put(SerdeConfig.REGISTRY_URL, registryUrl + "/apis/registry/v2");
        c.put(SerdeConfig.ENABLE_CONFLUENT_ID_HANDLER, true);
        c.put(SerdeConfig.USE_ID, "contentId");
        c.put(SerdeConfig.ENABLE_HEADERS, false);
        c.put(SerdeConfig.AUTO_REGISTER_ARTIFACT, autoRegister);
        c.put(SerdeConfig.FIND_LATEST_ARTIFACT, !autoRegister);
        return c;
    }

    /**
     * Only Avro registers its schema from the data. JSON Schema cannot be told from the data, and
     * Apicurio's Protobuf serializer (2.4) would register the .proto with some 30 well-known Google
     * files as references, which its own deserializer then fails to load (google/type/calendar_period
     * twice). Those two use the subject's latest schema, registered beforehand through the
     * Confluent API, as a Confluent user with auto.register.schemas=false does.
     */
    boolean autoRegisters() {
        return this == AVRO;
    }

    Serializer<Object> serializer(String registryUrl) {
        @SuppressWarnings({"unchecked", "rawtypes"})
        Serializer<Object> s = (Serializer) switch (this) {
            case AVRO -> new AvroKafkaSerializer<GenericRecord>();
            case PROTOBUF -> new ConfluentIndexProtobufSerializer<DynamicMessage>();
            case JSON_SCHEMA -> new JsonSchemaKafkaSerializer<JsonNode>();
        };
        s.configure(serdeConfig(registryUrl, autoRegisters()), false);
        return s;
    }

    Deserializer<Object> deserializer(String registryUrl) {
        @SuppressWarnings({"unchecked", "rawtypes"})
        Deserializer<Object> d = (Deserializer) switch (this) {
            case AVRO -> new AvroKafkaDeserializer<GenericRecord>();
            case PROTOBUF -> new ConfluentIndexProtobufDeserializer();
            case JSON_SCHEMA -> new JsonSchemaKafkaDeserializer<JsonNode>();
        };
        d.configure(serdeConfig(registryUrl, false), false);
        return d;
    }

    /** Record i of a run: the same fields in every format; v2 adds currency. */
    static ObjectNode order(int i, String version) {
        ObjectNode o = JSON.createObjectNode();
        o.put("id", "o-" + i);
        o.put("product", new String[] {"apple", "pear", "plum"}[i % 3]);
        o.put("quantity", i + 1);
        o.put("price", 1.25 * (i + 1));
        if (version.equals("v2")) o.put("currency", i % 2 == 0 ? "EUR" : "USD");
        return o;
    }

    /** The order as this format's serializer takes it, under the given schema text. */
    Object toValue(ObjectNode order, String schemaText) throws Exception {
        switch (this) {
            case AVRO: {
                Schema schema = new Schema.Parser().parse(schemaText);
                GenericRecord r = new GenericData.Record(schema);
                r.put("id", order.get("id").asText());
                r.put("product", order.get("product").asText());
                r.put("quantity", order.get("quantity").asInt());
                r.put("price", order.get("price").asDouble());
                if (schema.getField("currency") != null) r.put("currency", order.get("currency").asText());
                return r;
            }
            case PROTOBUF: {
                Descriptor type = FileDescriptorUtils.protoFileToFileDescriptor(schemaText, "order.proto", Optional.of("dev.duality.interop"))
                        .findMessageTypeByName("Order");
                DynamicMessage.Builder b = DynamicMessage.newBuilder(type);
                b.setField(type.findFieldByName("id"), order.get("id").asText());
                b.setField(type.findFieldByName("product"), order.get("product").asText());
                b.setField(type.findFieldByName("quantity"), order.get("quantity").asInt());
                b.setField(type.findFieldByName("price"), order.get("price").asDouble());
                if (type.findFieldByName("currency") != null) b.setField(type.findFieldByName("currency"), order.get("currency").asText());
                return b.build();
            }
            default:
                return order;
        }
    }

    /** A deserialized value as JSON: field names and values, whatever the format. */
    static JsonNode toJson(Object value) {
        if (value == null) return JSON.nullNode();
        if (value instanceof JsonNode n) return n;
        ObjectNode o = JSON.createObjectNode();
        if (value instanceof GenericRecord r) {
            for (Schema.Field f : r.getSchema().getFields()) o.set(f.name(), JSON.valueToTree(avroScalar(r.get(f.name()))));
            return o;
        }
        if (value instanceof DynamicMessage m) {
            for (FieldDescriptor f : m.getDescriptorForType().getFields()) o.set(f.getName(), JSON.valueToTree(m.getField(f)));
            return o;
        }
        throw new IllegalStateException("unexpected value type " + value.getClass().getName());
    }

    private static Object avroScalar(Object v) {
        return v instanceof CharSequence ? v.toString() : v;
    }

    static String readSchema(Path dir, String file) throws Exception {
        return Files.readString(dir.resolve(file));
    }
}
