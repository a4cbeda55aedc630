package dev.sapienseg.output;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Writes the two {@code .npy} files of the Sapiens demo (format version 1.0): the foreground mask as numpy
 * {@code bool} ({@code |b1}) and the class map as {@code int64} ({@code <i8}), both C-order {@code (H, W)}. The header
 * dict is padded with spaces and ends in a newline so that the data starts at a multiple of 64 bytes, as numpy
 * writes it. Sapiens' depth and normal demos read the mask with {@code np.load} and require bool at the original size.
 */
public final class NpyWriter {

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
    private static final int CHUNK_PIXELS = 64 * 1024;

    private NpyWriter() {
    }

    /** {@code <stem>.npy}: true where the class is not background (id &gt; 0). */
    public static void writeForegroundMask(OutputStream out, byte[] classMap, int width, int height) throws IOException {
        out.write(header("|b1", width, height));
        byte[] chunk = new byte[Math.min(CHUNK_PIXELS, classMap.length)];
        for (int start = 0; start < classMap.length; start += chunk.length) {
            int n = Math.min(chunk.length, classMap.length - start);
            for (int i = 0; i < n; i++) {
                chunk[i] = classMap[start + i] > 0 ? (byte) 1 : 0;
            }
            out.write(chunk, 0, n);
        }
    }

    /** {@code <stem>_seg.npy}: the class ids as little-endian int64. */
    public static void writeClassMap(OutputStream out, byte[] classMap, int width, int height) throws IOException {
        out.write(header("<i8", width, height));
        ByteBuffer chunk = ByteBuffer.allocate(8 * Math.min(CHUNK_PIXELS, classMap.length)).order(ByteOrder.LITTLE_ENDIAN);
        int perChunk = chunk.capacity() / 8;
        for (int start = 0; start < classMap.length; start += perChunk) {
            int n = Math.min(perChunk, classMap.length - start);
            chunk.clear();
            for (int i = 0; i < n; i++) {
                chunk.putLong(classMap[start + i]);
            }
            out.write(chunk.array(), 0, n * 8);
        }
    }

    static byte[] header(String descr, int width, int height) {
        String dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + height + ", " + width + "), }";
        int unpadded = MAGIC.length + 2 + dict.length() + 1; // + trailing newline
        int padding = (64 - unpadded % 64) % 64;
        String padded = dict + " ".repeat(padding) + "\n";
        byte[] text = padded.getBytes(StandardCharsets.US_ASCII);
        ByteBuffer header = ByteBuffer.allocate(MAGIC.length + 2 + text.length).order(ByteOrder.LITTLE_ENDIAN);
        header.put(MAGIC).putShort((short) text.length).put(text);
        return header.array();
    }
}
