package dev.duality.serdes;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.DynamicMessage;
import java.io.IOException;
import io.apicurio.registry.resolver.ParsedSchema;
import io.apicurio.registry.serde.protobuf.ProtobufKafkaDeserializer;
import io.apicurio.registry.utils.protobuf.schema.ProtobufSchema;
import java.nio.ByteBuffer;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.Headers;

/**
 * Apicurio's Protobuf deserializer (2.x) expects its own {@code Ref} before the payload; this one
 * reads Confluent's message-index array there (see ConfluentIndexProtobufSerializer), and keeps
 * Apicurio's id handling and schema lookup.
 */
public class ConfluentIndexProtobufDeserializer extends ProtobufKafkaDeserializer<DynamicMessage> {
    @Override
    protected DynamicMessage readData(ParsedSchema<ProtobufSchema> schema, ByteBuffer buffer, int start, int length) {
        ByteBuffer in = ByteBuffer.wrap(buffer.array(), start, length);
        Descriptor type = MessageIndexes.read(schema.getParsedSchema().getFileDescriptor(), in);
        try {
            return DynamicMessage.parseFrom(type, CodedInputStream.newInstance(buffer.array(), in.position(), start + length - in.position()));
        } catch (IOException e) {
            throw new SerializationException("not a " + type.getFullName() + " message", e);
        }
    }

    @Override
    protected DynamicMessage readData(Headers headers, ParsedSchema<ProtobufSchema> schema, ByteBuffer buffer, int start, int length) {
        return readData(schema, buffer, start, length);
    }
}
