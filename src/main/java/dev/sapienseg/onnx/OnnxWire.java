package dev.sapienseg.onnx;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Optional;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.WireFormat;

/**
 * Reads and writes ONNX's protobuf messages field by field with protobuf-java's coded streams, without the generated
 * onnx.proto classes (which would materialise a 1.4 GB model in the heap). Field numbers are onnx.proto's; each user
 * names the ones it reads.
 */
public final class OnnxWire {

    private OnnxWire() {
    }

    /** Reads the body of one length-delimited field. */
    public interface Body {
        void read() throws IOException;
    }

    /** What to do with a length-delimited field of a message: read its body, or null to skip it. */
    public interface Fields {
        Body of(int field) throws IOException;
    }

    /** Writes one message's fields. */
    @FunctionalInterface
    public interface Writer {
        void write(CodedOutputStream out) throws IOException;
    }

    /** A stream over a whole model file: messages up to protobuf's 2 GB limit, read in 64 KB pieces. */
    public static CodedInputStream open(InputStream in) {
        CodedInputStream stream = CodedInputStream.newInstance(in, 1 << 16);
        stream.setSizeLimit(Integer.MAX_VALUE);
        return stream;
    }

    /** A stream over one message held in memory (a node, an attribute). */
    public static CodedInputStream open(byte[] message) {
        CodedInputStream stream = CodedInputStream.newInstance(message);
        stream.setSizeLimit(Integer.MAX_VALUE);
        return stream;
    }

    /**
     * Reads the fields of the message at the stream's position up to its end (or the limit pushed for it); the
     * length-delimited fields {@code handler} names are read by their body (the stream limited to them), everything
     * else is skipped.
     */
    public static void fields(CodedInputStream stream, Fields handler) throws IOException {
        while (!stream.isAtEnd()) {
            int tag = stream.readTag();
            Body body = WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED
                    ? handler.of(WireFormat.getTagFieldNumber(tag)) : null;
            if (body == null) {
                stream.skipField(tag);
                continue;
            }
            int old = stream.pushLimit(stream.readRawVarint32());
            body.read();
            stream.popLimit(old);
        }
    }

    /** The rest of the current (limited) field as UTF-8 text. */
    public static String text(CodedInputStream stream) throws IOException {
        return new String(stream.readRawBytes(stream.getBytesUntilLimit()), StandardCharsets.UTF_8);
    }

    /**
     * The file an external-data {@code location} names, beside {@code model}; empty for a location outside the model's
     * folder (absolute, a drive or URL, a backslash, or one that climbs out).
     */
    public static Optional<Path> beside(Path model, String location) {
        if (location.startsWith("/") || location.contains("\\") || location.contains(":")) {
            return Optional.empty();
        }
        Path folder = model.toAbsolutePath().getParent();
        Path file = folder.resolve(location).normalize();
        return file.startsWith(folder) ? Optional.of(file) : Optional.empty();
    }

    /** One message's bytes, as {@code writer} writes its fields. */
    public static byte[] message(Writer writer) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            CodedOutputStream out = CodedOutputStream.newInstance(bytes);
            writer.write(out);
            out.flush();
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The bytes a length-delimited field takes in its parent: tag, length and body. */
    public static long fieldSize(int field, long bodyBytes) {
        return CodedOutputStream.computeTagSize(field) + CodedOutputStream.computeUInt64SizeNoTag(bodyBytes)
                + bodyBytes;
    }
}
