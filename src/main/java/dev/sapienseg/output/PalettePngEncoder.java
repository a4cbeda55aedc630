package dev.sapienseg.output;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * Writes a class map as an 8-bit indexed PNG whose pixel values are the class ids and whose palette is the Goliath
 * palette: exact for programs (read the indices) and viewable by people (the colours). OpenCV cannot write indexed
 * PNGs and ImageIO's writer tries every filter on every row, so the few chunks are framed here and the
 * compression is the JDK's {@link Deflater}.
 */
public final class PalettePngEncoder {

    private static final byte[] SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
    private static final byte FILTER_SUB = 1;

    private PalettePngEncoder() {
    }

    /** @param classMap row-major class ids, {@code width × height} bytes; @param paletteRgb r,g,b triplets */
    public static byte[] encode(byte[] classMap, int width, int height, byte[] paletteRgb) {
        if ((long) width * height != classMap.length) {
            throw new IllegalArgumentException("class map has " + classMap.length + " bytes, not " + width + "x" + height);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(Math.max(1024, classMap.length / 16));
        out.writeBytes(SIGNATURE);

        ByteBuffer ihdr = ByteBuffer.allocate(13);
        ihdr.putInt(width).putInt(height).put((byte) 8).put((byte) 3) // 8-bit, indexed colour
                .put((byte) 0).put((byte) 0).put((byte) 0); // deflate, adaptive filtering, no interlace
        chunk(out, "IHDR", ihdr.array(), ihdr.array().length);
        chunk(out, "PLTE", paletteRgb, paletteRgb.length);
        byte[] idat = compress(classMap, width, height);
        chunk(out, "IDAT", idat, idat.length);
        chunk(out, "IEND", new byte[0], 0);
        return out.toByteArray();
    }

    /** Filter "Sub" turns runs of one class into runs of zeros, which is what deflate compresses best. */
    private static byte[] compress(byte[] classMap, int width, int height) {
        Deflater deflater = new Deflater(Deflater.BEST_SPEED);
        try {
            ByteArrayOutputStream compressed = new ByteArrayOutputStream(Math.max(1024, classMap.length / 32));
            byte[] row = new byte[width + 1];
            byte[] chunk = new byte[64 * 1024];
            row[0] = FILTER_SUB;
            for (int y = 0; y < height; y++) {
                int base = y * width;
                row[1] = classMap[base];
                for (int x = 1; x < width; x++) {
                    row[x + 1] = (byte) (classMap[base + x] - classMap[base + x - 1]);
                }
                deflater.setInput(row);
                while (!deflater.needsInput()) {
                    int n = deflater.deflate(chunk);
                    compressed.write(chunk, 0, n);
                }
            }
            deflater.finish();
            while (!deflater.finished()) {
                int n = deflater.deflate(chunk);
                compressed.write(chunk, 0, n);
            }
            return compressed.toByteArray();
        } finally {
            deflater.end();
        }
    }

    private static void chunk(ByteArrayOutputStream out, String type, byte[] data, int length) {
        byte[] typeBytes = type.getBytes(StandardCharsets.US_ASCII);
        CRC32 crc = new CRC32();
        crc.update(typeBytes);
        crc.update(data, 0, length);
        writeInt(out, length);
        out.writeBytes(typeBytes);
        out.write(data, 0, length);
        writeInt(out, (int) crc.getValue());
    }

    private static void writeInt(ByteArrayOutputStream out, int v) {
        out.write(v >>> 24);
        out.write(v >>> 16);
        out.write(v >>> 8);
        out.write(v);
    }
}
