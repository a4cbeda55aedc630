package dev.sapienseg.output;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.function.Supplier;

/**
 * One encoded output: its media type, its length and its bytes, which can be read more than once (an upload may be
 * retried). Pictures are held in memory ({@link #data()}); the {@code .npy} files are generated from the class map
 * while they are read (an int64 map of a 12 MP picture is 96 MB that need not sit in memory).
 *
 * @param data the bytes when held in memory, else null
 */
public record OutputFile(OutputKind kind, String contentType, long length, Supplier<InputStream> content, byte[] data) {

    /** Bytes held in memory, in the kind's media type. */
    public static OutputFile of(OutputKind kind, byte[] data) {
        return of(kind, kind.contentType(), data);
    }

    static OutputFile of(OutputKind kind, String contentType, byte[] data) {
        return new OutputFile(kind, contentType, data.length, () -> new ByteArrayInputStream(data), data);
    }

    static OutputFile npy(OutputKind kind, NpyWriter.NpyFile file) {
        return new OutputFile(kind, kind.contentType(), file.length(), file.content(), null);
    }

    public void writeTo(OutputStream out) throws IOException {
        try (InputStream in = content.get()) {
            in.transferTo(out);
        }
    }
}
