package dev.sapienseg.image;

import java.nio.charset.StandardCharsets;

import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.failure.SegmentationException;

/**
 * Unsigned fields of an encoded image at byte offsets, in the byte order its format uses: the one place where the
 * header readers turn bytes into numbers. Every read is bounds-checked, so a header that points past the end of the
 * file is refused as corrupt instead of escaping as an {@link ArrayIndexOutOfBoundsException}.
 */
final class ByteOrderReader {

    private final byte[] data;
    private final boolean littleEndian;

    private ByteOrderReader(byte[] data, boolean littleEndian) {
        this.data = data;
        this.littleEndian = littleEndian;
    }

    /** Most significant byte first (JPEG, PNG, TIFF "MM"). */
    static ByteOrderReader bigEndian(byte[] data) {
        return new ByteOrderReader(data, false);
    }

    /** Least significant byte first (WebP's RIFF container, BMP, TIFF "II"). */
    static ByteOrderReader littleEndian(byte[] data) {
        return new ByteOrderReader(data, true);
    }

    int length() {
        return data.length;
    }

    /** Whether the bytes at {@code at} are {@code expected}, each taken as a byte; false past the end. */
    boolean matches(long at, int... expected) {
        if (at < 0 || data.length < at + expected.length) {
            return false;
        }
        for (int i = 0; i < expected.length; i++) {
            if ((data[(int) at + i] & 0xFF) != (expected[i] & 0xFF)) {
                return false;
            }
        }
        return true;
    }

    /** Whether the four ASCII characters at {@code at} are {@code fourCc}; false past the end. */
    boolean matches(long at, String fourCc) {
        return matches(at, fourCc.chars().toArray());
    }

    /** Refuses the image unless {@code n} bytes from {@code at} lie inside it. */
    void require(long at, int n) {
        if (at < 0 || at + n > data.length) {
            throw new SegmentationException(FailureReason.CORRUPT_IMAGE,
                    "corrupt image: header truncated at byte " + at);
        }
    }

    /** The first offset at or after {@code from} holding {@code value}, or {@link #length()} if none does. */
    int indexOf(int value, int from) {
        byte wanted = (byte) value;
        for (int i = Math.max(0, from); i < data.length; i++) { // a plain array scan: entropy data runs to megabytes
            if (data[i] == wanted) {
                return i;
            }
        }
        return data.length;
    }

    int u8(long at) {
        require(at, 1);
        return data[(int) at] & 0xFF;
    }

    int u16(long at) {
        return (int) unsigned(at, 2);
    }

    long u24(long at) {
        return unsigned(at, 3);
    }

    long u32(long at) {
        return unsigned(at, 4);
    }

    /** The four characters of a chunk type at {@code at}, as written (byte order does not apply to them). */
    String fourCc(long at) {
        require(at, 4);
        return new String(data, (int) at, 4, StandardCharsets.ISO_8859_1);
    }

    /** The first {@code n} bytes (fewer in a shorter file) in hexadecimal, to name what an unknown file is. */
    String hex(int n) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < Math.min(n, data.length); i++) {
            sb.append(String.format("%02x", data[i] & 0xFF));
        }
        return sb.toString();
    }

    private long unsigned(long at, int bytes) {
        require(at, bytes);
        long value = 0;
        for (int i = 0; i < bytes; i++) {
            int b = data[(int) at + (littleEndian ? bytes - 1 - i : i)] & 0xFF;
            value = (value << 8) | b;
        }
        return value;
    }
}
