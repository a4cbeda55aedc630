package dev.sapienseg.batch;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A strict reader of .npy v1.0 files for tests, written from the format description, not from our writer. */
record Npy(String descr, int height, int width, long[] values) {

    private static final Pattern HEADER = Pattern.compile(
            "\\{'descr': '([^']+)', 'fortran_order': False, 'shape': \\((\\d+), (\\d+)\\), \\} *\\n");

    static Npy read(Path file) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        byte[] magic = new byte[6];
        b.get(magic);
        assertEquals("\u0093NUMPY", new String(magic, StandardCharsets.ISO_8859_1));
        assertEquals(1, b.get());
        assertEquals(0, b.get());
        int headerLength = Short.toUnsignedInt(b.getShort());
        assertEquals(0, (10 + headerLength) % 64, "data must start at a multiple of 64 bytes");
        byte[] header = new byte[headerLength];
        b.get(header);
        Matcher m = HEADER.matcher(new String(header, StandardCharsets.US_ASCII));
        if (!m.matches()) {
            throw new AssertionError("bad header: " + new String(header, StandardCharsets.US_ASCII));
        }
        int h = Integer.parseInt(m.group(2));
        int w = Integer.parseInt(m.group(3));
        long[] values = new long[h * w];
        switch (m.group(1)) {
            case "|b1" -> {
                assertEquals((long) h * w, b.remaining());
                for (int i = 0; i < values.length; i++) {
                    byte v = b.get();
                    if (v != 0 && v != 1) {
                        throw new AssertionError("bool byte " + v);
                    }
                    values[i] = v;
                }
            }
            case "<i8" -> {
                assertEquals(8L * h * w, b.remaining());
                for (int i = 0; i < values.length; i++) {
                    values[i] = b.getLong();
                }
            }
            default -> throw new AssertionError("unexpected dtype " + m.group(1));
        }
        return new Npy(m.group(1), h, w, values);
    }
}
