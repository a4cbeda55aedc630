package dev.sapienseg.image;

import static dev.sapienseg.image.ImageHeaderProbe.corrupt;
import static dev.sapienseg.image.ImageHeaderProbe.times;

import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.failure.SegmentationException;

/**
 * TIFF: the whole first directory is read; a tag named twice or out of ascending order (libtiff keeps the first of a
 * duplicated ImageWidth, a naive reader the last), a second directory (multi-page), values outside the file, 32/64-bit
 * or floating-point samples (OpenCV cannot convert them to 8-bit colour), and a strip or tile of more pixels than the
 * picture (plus {@link ImageHeaderProbe#TILE_SLACK_PIXELS}, for standard 256×256 tiles on small pictures) are
 * refused, because libtiff allocates by the strip or tile. Its working memory is one strip or tile × samples × bytes
 * per sample (libtiff reads whole strips; measured: a single-strip 16-bit RGBA TIFF of 16 Mpx peaks at output +
 * 128 MB), plus libtiff's RGBA buffer.
 */
final class TiffReader {

    private static final int[] LITTLE_ENDIAN_SIGNATURE = {'I', 'I', 42, 0};
    private static final int[] BIG_ENDIAN_SIGNATURE = {'M', 'M', 0, 42};

    // Byte order mark, 42, then where the first directory is.
    private static final int FIRST_DIRECTORY = 4;
    private static final int HEADER_LENGTH = 8;
    // A directory: its entry count (2 bytes), the entries, then where the next directory is (0: none).
    private static final int ENTRY_LENGTH = 12;
    // An entry: tag, field type, value count, then the values themselves if they fit in 4 bytes, else where they are.
    private static final int ENTRY_TYPE = 2;
    private static final int ENTRY_COUNT = 4;
    private static final int ENTRY_VALUE = 8;
    private static final int INLINE_VALUE_BYTES = 4;

    // The tags this reader uses (baseline TIFF 6.0, tiles and SampleFormat from its extensions).
    private static final int IMAGE_WIDTH = 256;
    private static final int IMAGE_LENGTH = 257;
    private static final int BITS_PER_SAMPLE = 258;
    private static final int STRIP_OFFSETS = 273;
    private static final int SAMPLES_PER_PIXEL = 277;
    private static final int ROWS_PER_STRIP = 278;
    private static final int STRIP_BYTE_COUNTS = 279;
    private static final int TILE_WIDTH = 322;
    private static final int TILE_LENGTH = 323;
    private static final int TILE_OFFSETS = 324;
    private static final int TILE_BYTE_COUNTS = 325;
    private static final int SAMPLE_FORMAT = 339;

    // The field types the size and layout tags may use.
    private static final int SHORT = 3;
    private static final int LONG = 4;
    /** Bytes per value of each field type, by its number (BYTE = 1 … IFD8 = 18; 0, 14 and 15 are unassigned). */
    private static final int[] FIELD_TYPE_BYTES = {0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4, 0, 0, 8, 8, 8};
    /** The per-sample fields read here have one value per sample, and samples are few. */
    private static final int MAX_VALUES = 64;

    // The defaults of the tags this reader uses, when the directory leaves them out.
    private static final long DEFAULT_BITS_PER_SAMPLE = 1;
    private static final long DEFAULT_SAMPLES = 1;
    private static final long SAMPLE_FORMAT_UNSIGNED = 1;
    private static final long SAMPLE_FORMAT_FLOAT = 3;
    private static final long ROWS_PER_STRIP_ALL = 0xFFFFFFFFL;
    /** The deepest integer samples OpenCV converts to 8-bit colour. */
    private static final long MAX_BITS_PER_SAMPLE = 16;
    /** libtiff decodes into an RGBA buffer of 4 bytes a pixel besides the samples. */
    private static final long RGBA_BYTES = 4;

    /** A directory entry: its values are read only when used, as strip and tile tables can be long. */
    private record Field(int tag, int type, long count, long valueAt) {

        /** The size of its values; 0 for an unknown field type. */
        long bytes() {
            return (type < FIELD_TYPE_BYTES.length ? FIELD_TYPE_BYTES[type] : 0) * count;
        }
    }

    private TiffReader() {
    }

    static boolean recognises(byte[] data) {
        ByteOrderReader in = ByteOrderReader.bigEndian(data);
        return in.matches(0, LITTLE_ENDIAN_SIGNATURE) || in.matches(0, BIG_ENDIAN_SIGNATURE);
    }

    static ImageHeader read(byte[] data) {
        ByteOrderReader in = data[0] == 'I' ? ByteOrderReader.littleEndian(data) : ByteOrderReader.bigEndian(data);
        if (in.length() < HEADER_LENGTH) {
            throw corrupt(ImageFormat.TIFF, "truncated header");
        }
        long ifd = in.u32(FIRST_DIRECTORY);
        if (ifd < HEADER_LENGTH || ifd + 2 > in.length()) {
            throw corrupt(ImageFormat.TIFF, "first directory offset " + ifd + " outside the file");
        }
        int entries = in.u16(ifd);
        if (entries == 0 || ifd + 2 + (long) ENTRY_LENGTH * entries + 4 > in.length()) {
            throw corrupt(ImageFormat.TIFF, entries == 0 ? "empty directory" : "truncated directory");
        }
        long width = -1;
        long height = -1;
        long bitsPerSample = DEFAULT_BITS_PER_SAMPLE;
        long samples = DEFAULT_SAMPLES;
        long sampleFormat = SAMPLE_FORMAT_UNSIGNED;
        long rowsPerStrip = ROWS_PER_STRIP_ALL;
        long tileWidth = -1;
        long tileLength = -1;
        Field offsets = null;
        Field counts = null;
        int previousTag = -1;
        for (int i = 0; i < entries; i++) {
            Field field = entry(in, ifd + 2 + (long) ENTRY_LENGTH * i);
            int tag = field.tag();
            if (tag == previousTag) { // libtiff keeps the first, other readers the last: refuse the ambiguity
                throw corrupt(ImageFormat.TIFF, "the first directory names tag " + tag + " twice");
            }
            if (tag < previousTag) {
                throw corrupt(ImageFormat.TIFF, "directory entries out of order (tag " + tag + " after " + previousTag
                        + "; TIFF requires ascending tags)");
            }
            previousTag = tag;
            if (field.bytes() > INLINE_VALUE_BYTES && field.valueAt() + field.bytes() > in.length()) {
                throw corrupt(ImageFormat.TIFF, "tag " + tag + " has values outside the file");
            }
            switch (tag) {
                case IMAGE_WIDTH -> width = scalar(in, field);
                case IMAGE_LENGTH -> height = scalar(in, field);
                case BITS_PER_SAMPLE -> bitsPerSample = max(values(in, field));
                case SAMPLES_PER_PIXEL -> samples = scalar(in, field);
                case ROWS_PER_STRIP -> rowsPerStrip = scalar(in, field);
                case TILE_WIDTH -> tileWidth = scalar(in, field);
                case TILE_LENGTH -> tileLength = scalar(in, field);
                case SAMPLE_FORMAT -> sampleFormat = max(values(in, field));
                case STRIP_OFFSETS, TILE_OFFSETS -> offsets = field;
                case STRIP_BYTE_COUNTS, TILE_BYTE_COUNTS -> counts = field;
                default -> {
                }
            }
        }
        if (in.u32(ifd + 2 + (long) ENTRY_LENGTH * entries) != 0) {
            throw new SegmentationException(FailureReason.IMAGE_TOO_COMPLEX,
                    "multi-page TIFF (a second directory follows the first): only single-page pictures are served");
        }
        if (width < 0 || height < 0) {
            throw corrupt(ImageFormat.TIFF, "no image width or length in the first directory");
        }
        if (sampleFormat == SAMPLE_FORMAT_FLOAT || bitsPerSample > MAX_BITS_PER_SAMPLE) {
            throw new SegmentationException(FailureReason.UNSUPPORTED_FORMAT, "TIFF with " + bitsPerSample + "-bit "
                    + (sampleFormat == SAMPLE_FORMAT_FLOAT ? "floating-point " : "")
                    + "samples is not supported (8 or 16-bit integers only)");
        }
        if (samples < 1 || bitsPerSample < 1) {
            throw corrupt(ImageFormat.TIFF, "declares " + samples + " samples of " + bitsPerSample + " bits");
        }
        if (offsets != null && counts != null) {
            for (int i = 0; i < Math.min(offsets.count(), counts.count()); i++) {
                if (tableValue(in, offsets, i) + tableValue(in, counts, i) > in.length()) {
                    throw corrupt(ImageFormat.TIFF, "strip or tile " + i + " lies outside the file");
                }
            }
        }
        long unitPixels;
        String unit;
        if (tileWidth >= 0 || tileLength >= 0) {
            if (tileWidth <= 0 || tileLength <= 0) {
                throw corrupt(ImageFormat.TIFF, "tiles of " + tileWidth + "x" + tileLength);
            }
            unitPixels = times(tileWidth, tileLength);
            unit = "tile of " + tileWidth + "x" + tileLength;
        } else {
            if (rowsPerStrip == 0) {
                throw corrupt(ImageFormat.TIFF, "strips of 0 rows");
            }
            long rows = Math.min(rowsPerStrip, height); // libtiff clamps RowsPerStrip to the picture
            unitPixels = times(width, rows);
            unit = "strip of " + width + "x" + rows;
        }
        long pixels = times(width, height);
        long slack = ImageHeaderProbe.TILE_SLACK_PIXELS;
        long allowed = pixels > Long.MAX_VALUE - slack ? Long.MAX_VALUE : pixels + slack;
        if (unitPixels > allowed) { // libtiff and OpenCV allocate a whole strip or tile
            throw new SegmentationException(FailureReason.IMAGE_TOO_COMPLEX, "TIFF " + unit
                    + " is larger than the " + width + "x" + height + " picture itself");
        }
        long bytesPerSample = (bitsPerSample + 7) / 8;
        long working = times(unitPixels, times(samples, bytesPerSample) + RGBA_BYTES);
        return new ImageHeader(ImageFormat.TIFF, width, height, working);
    }

    /** The entry at {@code at}, whose values are in the entry itself if they fit, else where it says. */
    private static Field entry(ByteOrderReader in, long at) {
        Field inline = new Field(in.u16(at), in.u16(at + ENTRY_TYPE), in.u32(at + ENTRY_COUNT), at + ENTRY_VALUE);
        if (inline.bytes() <= INLINE_VALUE_BYTES) {
            return inline;
        }
        return new Field(inline.tag(), inline.type(), inline.count(), in.u32(at + ENTRY_VALUE));
    }

    /** A one-valued SHORT or LONG field (the size and layout tags). */
    private static long scalar(ByteOrderReader in, Field field) {
        if (field.count() != 1) {
            throw corrupt(ImageFormat.TIFF, "tag " + field.tag() + " with " + field.count() + " values");
        }
        return values(in, field)[0];
    }

    /** The values of a per-sample SHORT or LONG field. */
    private static long[] values(ByteOrderReader in, Field field) {
        if (field.type() != SHORT && field.type() != LONG) {
            throw corrupt(ImageFormat.TIFF, "tag " + field.tag() + " stored with field type " + field.type());
        }
        if (field.count() < 1 || field.count() > MAX_VALUES) {
            throw corrupt(ImageFormat.TIFF, "tag " + field.tag() + " with " + field.count() + " values");
        }
        long[] v = new long[(int) field.count()];
        for (int i = 0; i < v.length; i++) {
            v[i] = number(in, field, i);
        }
        return v;
    }

    /** Value i of a strip or tile table (offsets or byte counts), a SHORT or LONG array. */
    private static long tableValue(ByteOrderReader in, Field table, int i) {
        if (table.type() != SHORT && table.type() != LONG) {
            throw corrupt(ImageFormat.TIFF, "strip or tile table stored with field type " + table.type());
        }
        return number(in, table, i);
    }

    /** Value i of a field already known to be SHORT or LONG. */
    private static long number(ByteOrderReader in, Field field, int i) {
        return field.type() == SHORT ? in.u16(field.valueAt() + 2L * i) : in.u32(field.valueAt() + 4L * i);
    }

    private static long max(long[] values) {
        long m = values[0];
        for (long v : values) {
            m = Math.max(m, v);
        }
        return m;
    }
}
