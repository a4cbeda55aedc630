package dev.sapienseg.image;

import static dev.sapienseg.image.ImageHeaderProbe.corrupt;

/**
 * BMP (little-endian): width positive, height non-zero (negative is top-down), uncompressed pixel rows inside the
 * file.
 */
final class BmpReader {

    private static final int[] SIGNATURE = {'B', 'M'};

    /** File header: where the pixel rows start. */
    private static final int PIXEL_DATA_OFFSET = 10;
    // The DIB header follows the 14-byte file header and starts with its own size, which names its version.
    private static final int DIB_HEADER = 14;
    private static final int DIB_SIZE = DIB_HEADER;
    private static final int WIDTH = DIB_HEADER + 4;
    // BITMAPCOREHEADER (OS/2): 16-bit width and height.
    private static final int CORE_HEADER_SIZE = 12;
    private static final int CORE_HEIGHT = WIDTH + 2;
    // BITMAPINFOHEADER and its successors: signed 32-bit width and height, bits per pixel, compression.
    private static final int INFO_HEADER_SIZE = 40;
    private static final int INFO_HEIGHT = WIDTH + 4;
    private static final int BITS_PER_PIXEL = INFO_HEIGHT + 6;
    private static final int COMPRESSION = BITS_PER_PIXEL + 2;
    /** Through the core header's height, and the info header's width and height. */
    private static final int MIN_LENGTH = 26;

    // The compressions whose rows are stored as is, so their size is known from the header.
    private static final long BI_RGB = 0;
    private static final long BI_BITFIELDS = 3;

    private BmpReader() {
    }

    static boolean recognises(byte[] data) {
        return ByteOrderReader.littleEndian(data).matches(0, SIGNATURE);
    }

    static ImageHeader read(byte[] data) {
        ByteOrderReader in = ByteOrderReader.littleEndian(data);
        if (in.length() < MIN_LENGTH) {
            throw corrupt(ImageFormat.BMP, "truncated header");
        }
        long dibSize = in.u32(DIB_SIZE);
        if (dibSize == CORE_HEADER_SIZE) {
            return new ImageHeader(ImageFormat.BMP, in.u16(WIDTH), in.u16(CORE_HEIGHT));
        }
        if (dibSize < INFO_HEADER_SIZE) {
            throw corrupt(ImageFormat.BMP, "unknown DIB header of " + dibSize + " bytes");
        }
        in.require(DIB_HEADER, INFO_HEADER_SIZE);
        int width = (int) in.u32(WIDTH);
        int height = (int) in.u32(INFO_HEIGHT);
        if (width <= 0 || height == 0 || height == Integer.MIN_VALUE) {
            throw corrupt(ImageFormat.BMP, "declares an impossible size " + width + "x" + height);
        }
        long rows = Math.abs((long) height); // negative height: top-down rows
        int bits = in.u16(BITS_PER_PIXEL);
        long compression = in.u32(COMPRESSION);
        if (compression == BI_RGB || compression == BI_BITFIELDS) {
            long stride = ((width * (long) bits + 31) / 32) * 4; // rows are padded to 32 bits
            long needed = in.u32(PIXEL_DATA_OFFSET) + stride * rows;
            if (needed > in.length()) {
                throw corrupt(ImageFormat.BMP, "truncated: " + width + "x" + rows + " at " + bits
                        + " bits needs " + needed + " bytes, the file has " + in.length());
            }
        }
        return new ImageHeader(ImageFormat.BMP, width, rows);
    }
}
