package dev.duality.serdes;

import com.google.protobuf.Message;
import io.apicurio.registry.resolver.ParsedSchema;
import io.apicurio.registry.serde.protobuf.ProtobufKafkaSerializer;
import io.apicurio.registry.utils.protobuf.schema.ProtobufSchema;
import java.io.IOException;
import java.io.OutputStream;
import org.apache.kafka.common.header.Headers;

/**
 * Apicurio's Protobuf serializer (2.x) puts a length-delimited {@code Ref} message (the type's name)
 * between the schema id and the payload; Confluent's KafkaProtobufSerializer puts the message-index
 * array there (zigzag varints: the count, then each index from the top level; the first top-level
 * message is the single byte 0). This keeps Apicurio's registration, id lookup and framing and
 * writes Confluent's indexes instead; ConfluentIndexProtobufDeserializer reads them.
 */
public class ConfluentIndexProtobufSerializer<U extends Message> extends ProtobufKafkaSerializer<U> {
    @Override
    protected void serializeData(ParsedSchema<ProtobufSchema> schema, U data, OutputStream out) throws IOException {
        MessageIndexes.write(data.getDescriptorForType(), out);
        data.writeTo(out);
    }

    @Override
    protected void serializeData(Headers headers, ParsedSchema<ProtobufSchema> schema, U data, OutputStream out) throws IOException {
        serializeData(schema, data, out);
    }
}
