package dev.duality.serdes;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FileDescriptor;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Confluent's Protobuf message-index array: which message of the schema's file a record holds, as
 * zigzag varints (the count, then each index from the top level down); the first top-level
 * message, the usual case, is the single byte 0.
 */
final class MessageIndexes {
    private MessageIndexes() {}

    static void write(Descriptor type, OutputStream out) throws IOException {
        Deque<Integer> path = new ArrayDeque<>();
        for (Descriptor d = type; d != null; d = d.getContainingType()) path.addFirst(d.getIndex());
        if (path.size() == 1 && path.peekFirst() == 0) {
            out.write(0);
            return;
        }
        writeZigzag(path.size(), out);
        for (int index : path) writeZigzag(index, out);
    }

    /** Reads the array at the buffer's position (which it advances) and returns the message type it names. */
    static Descriptor read(FileDescriptor file, ByteBuffer in) {
        int count = readZigzag(in);
        if (count == 0) return file.getMessageTypes().get(0);
        Descriptor type = null;
        for (int i = 0; i < count; i++) {
            int index = readZigzag(in);
            var choices = type == null ? file.getMessageTypes() : type.getNestedTypes();
            if (index < 0 || index >= choices.size()) throw new IllegalArgumentException("message index " + index + " is not in the schema");
            type = choices.get(index);
        }
        return type;
    }

    private static void writeZigzag(int value, OutputStream out) throws IOException {
        int v = (value << 1) ^ (value >> 31);
        while ((v & ~0x7F) != 0) {
            out.write((v & 0x7F) | 0x80);
            v >>>= 7;
        }
        out.write(v);
    }

    private static int readZigzag(ByteBuffer in) {
        int v = 0;
        for (int shift = 0; shift < 32; shift += 7) {
            int b = in.get() & 0xff;
            v |= (b & 0x7F) << shift;
            if ((b & 0x80) == 0) return (v >>> 1) ^ -(v & 1);
        }
        throw new IllegalArgumentException("a message index varint is longer than 5 bytes");
    }
}
