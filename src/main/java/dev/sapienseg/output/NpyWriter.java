package dev.sapienseg.output;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * The {@code .npy} files: the two of the Sapiens demo (format version 1.0): the foreground mask as numpy {@code bool}
 * ({@code |b1}) and the class map as {@code int64} ({@code <i8}), both C-order {@code (H, W)}. The header dict is
 * padded with spaces and ends in a newline so that the data starts at a multiple of 64 bytes, as numpy writes it.
 * Sapiens' depth and normal demos read the mask with {@code np.load} and require bool at the original size. And the
 * model's raw output ({@link #logits}).
 *
 * <p>Both are produced as streams of known length, generated from the one-byte class map on the fly: an int64 map of
 * a 12 MP picture is 96 MB, which need not sit in memory to be written to a file or uploaded.
 */
public final class NpyWriter {

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};

    /** A file's bytes, generated on demand (an upload may read it more than once). */
    public record NpyFile(long length, java.util.function.Supplier<InputStream> content) {
    }

    private NpyWriter() {
    }

    /** {@code <stem>.npy}: true where the class is not background (id &gt; 0). */
    public static NpyFile foregroundMask(byte[] classMap, int width, int height) {
        byte[] header = header("|b1", width, height);
        return new NpyFile(header.length + (long) classMap.length,
                () -> new SequenceInputStream(new ByteArrayInputStream(header), new Expanding(classMap, 1)));
    }

    /** {@code <stem>_seg.npy}: the class ids as little-endian int64. */
    public static NpyFile classMap(byte[] classMap, int width, int height) {
        byte[] header = header("<i8", width, height);
        return new NpyFile(header.length + 8L * classMap.length,
                () -> new SequenceInputStream(new ByteArrayInputStream(header), new Expanding(classMap, 8)));
    }

    /** {@code <name>_logits.npy}: the model's output for one picture, {@code (C, h, w)}, in its own precision. */
    public static NpyFile logits(RawLogits logits) {
        byte[] header = header(logits.dtype(), logits.channels() + ", " + logits.height() + ", " + logits.width());
        byte[] data = logits.data();
        return new NpyFile(header.length + (long) data.length,
                () -> new SequenceInputStream(new ByteArrayInputStream(header), new ByteArrayInputStream(data)));
    }

    static byte[] header(String descr, int width, int height) {
        return header(descr, height + ", " + width);
    }

    private static byte[] header(String descr, String shape) {
        String dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + shape + "), }";
        int unpadded = MAGIC.length + 2 + dict.length() + 1; // + trailing newline
        int padding = (64 - unpadded % 64) % 64;
        byte[] text = (dict + " ".repeat(padding) + "\n").getBytes(StandardCharsets.US_ASCII);
        ByteBuffer header = ByteBuffer.allocate(MAGIC.length + 2 + text.length).order(ByteOrder.LITTLE_ENDIAN);
        header.put(MAGIC).putShort((short) text.length).put(text);
        return header.array();
    }

    /** The class map as bool bytes (width 1: id &gt; 0) or little-endian int64 (width 8), in chunks. */
    private static final class Expanding extends InputStream {
        private static final int CHUNK_PIXELS = 16 * 1024;

        private final byte[] classMap;
        private final int width;
        private final ByteBuffer chunk;
        private int next;

        Expanding(byte[] classMap, int width) {
            this.classMap = classMap;
            this.width = width;
            this.chunk = ByteBuffer.allocate(CHUNK_PIXELS * width).order(ByteOrder.LITTLE_ENDIAN);
            this.chunk.limit(0);
        }

        private boolean fill() {
            if (next >= classMap.length) {
                return false;
            }
            int n = Math.min(CHUNK_PIXELS, classMap.length - next);
            chunk.clear();
            if (width == 1) {
                for (int i = 0; i < n; i++) {
                    chunk.put(classMap[next + i] > 0 ? (byte) 1 : 0);
                }
            } else {
                for (int i = 0; i < n; i++) {
                    chunk.putLong(classMap[next + i]);
                }
            }
            next += n;
            chunk.flip();
            return true;
        }

        @Override
        public int read() {
            if (!chunk.hasRemaining() && !fill()) {
                return -1;
            }
            return chunk.get() & 0xFF;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (len == 0) {
                return 0;
            }
            if (!chunk.hasRemaining() && !fill()) {
                return -1;
            }
            int n = Math.min(len, chunk.remaining());
            chunk.get(b, off, n);
            return n;
        }
    }
}
