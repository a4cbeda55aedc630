package dev.sapienseg.image;

import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.failure.SegmentationException;

/**
 * Reads format and dimensions from an encoded image's headers without decoding pixels, so that a decompression
 * bomb (a tiny file declaring 60000×60000 pixels) is refused before anything is allocated, and so that formats we
 * do not serve are named precisely. OpenCV has no header-only API in Java, hence this small reader.
 *
 * <p>The size it reports must be the size the decoder will produce, so it walks each format's structure (marker,
 * chunk and directory tables only, never pixel data) and refuses what it cannot bound unambiguously:
 * <ul>
 * <li>TIFF: the whole first directory is read; a tag named twice or out of ascending order (libtiff keeps the first
 * of a duplicated ImageWidth, a naive reader the last), a second directory (multi-page), values outside the file,
 * 32/64-bit or floating-point samples (OpenCV cannot convert them to 8-bit colour), and a strip or tile of more
 * pixels than the picture (plus {@link #TILE_SLACK_PIXELS}, for standard 256×256 tiles on small pictures) are
 * refused, because libtiff allocates by the strip or tile.</li>
 * <li>JPEG: one frame header (SOF) only; every scan is walked to the end-of-image marker, and more than
 * {@link #MAX_JPEG_SCANS} scans are refused (each scan of a progressive JPEG is a pass over the whole picture);
 * a DNL marker (height defined after the image data) is refused.</li>
 * <li>PNG: chunks are walked (length, type; CRCs and truncation are libpng's business): exactly one IHDR, first; an
 * APNG frame (fcTL) must lie within the canvas, and at most {@link #MAX_APNG_FRAMES} frames.</li>
 * <li>WebP: a VP8X canvas must match its VP8/VP8L frame; animated WebP is not served.</li>
 * <li>BMP: width positive, height non-zero (negative is top-down), uncompressed pixel rows inside the file.</li>
 * </ul>
 *
 * <p>Working memory: {@link ImageHeader#workingBytes()} is what the decoder holds at the source depth besides its
 * 8-bit output: a TIFF strip or tile × samples × bytes per sample (libtiff reads whole strips; measured: a single-strip
 * 16-bit RGBA TIFF of 16 Mpx peaks at output + 128 MB), a progressive JPEG's coefficient buffer (2 bytes per sample).
 * PNG needs none: with {@code IMREAD_COLOR} libpng strips 16-bit samples to 8 row by row into the output.
 * {@link ImageDecoder} refuses it above {@link ImageLimits#maxWorkingBytes()}.
 * It also refuses JPEGs without an end-of-image marker, which libjpeg would otherwise decode as a grey-padded
 * picture and segment silently.
 */
public final class ImageHeaderProbe {

    /** More scans than any encoder writes (progressive libjpeg output has about 10, exotic scripts stay under 30). */
    public static final int MAX_JPEG_SCANS = 100;
    public static final int MAX_APNG_FRAMES = 100;
    /** A strip or tile may cover this many pixels beyond the picture (a 256×256 tile on a thumbnail is normal). */
    public static final long TILE_SLACK_PIXELS = 1 << 20;

    private ImageHeaderProbe() {
    }

    public static ImageHeader probe(byte[] data) {
        if (data == null || data.length == 0) {
            throw new SegmentationException(FailureReason.EMPTY_IMAGE, "the event carries no image data");
        }
        ImageHeader header;
        if (startsWith(data, 0xFF, 0xD8, 0xFF)) {
            header = jpeg(data);
        } else if (startsWith(data, 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A)) {
            header = png(data);
        } else if (startsWith(data, 'R', 'I', 'F', 'F') && data.length < 12) {
            throw corrupt(ImageFormat.WEBP, "truncated RIFF header");
        } else if (startsWith(data, 'R', 'I', 'F', 'F') && at(data, 8, 'W', 'E', 'B', 'P')) {
            header = webp(data);
        } else if (startsWith(data, 'B', 'M')) {
            header = bmp(data);
        } else if (startsWith(data, 'I', 'I', 42, 0) || startsWith(data, 'M', 'M', 0, 42)) {
            header = tiff(data);
        } else {
            throw new SegmentationException(FailureReason.UNSUPPORTED_FORMAT,
                    "not a supported image (expected JPEG, PNG, WebP, BMP or TIFF; first bytes: " + hex(data, 8) + ")");
        }
        if (header.width() <= 0 || header.height() <= 0) {
            throw corrupt(header.format(), "declares an empty size " + header.width() + "x" + header.height());
        }
        return header;
    }

    // ------------------------------------------------------------------------------------------------------ JPEG

    private static boolean isStartOfFrame(int marker) {
        return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    }

    private static ImageHeader jpeg(byte[] d) {
        int pos = 2;
        long width = -1;
        long height = -1;
        int components = 0;
        boolean progressive = false;
        int scans = 0;
        while (true) {
            if (pos + 2 > d.length || (scans == 0 && pos + 4 > d.length)) {
                throw corrupt(ImageFormat.JPEG, scans == 0 ? "truncated before the start of the image data"
                        : "truncated: no end-of-image marker after the image data");
            }
            if ((d[pos] & 0xFF) != 0xFF) {
                throw corrupt(ImageFormat.JPEG, "expected a marker at byte " + pos);
            }
            int marker = d[pos + 1] & 0xFF;
            if (marker == 0xFF) { // fill byte
                pos++;
                continue;
            }
            if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) { // standalone markers
                pos += 2;
                continue;
            }
            if (marker == 0xD9) {
                if (scans == 0) {
                    throw corrupt(ImageFormat.JPEG, "ends before any image data");
                }
                return new ImageHeader(ImageFormat.JPEG, width, height, // progressive: 16-bit coefficients
                        progressive ? times(width * height, components * 2L) : 0);
            }
            if (pos + 4 > d.length) {
                throw corrupt(ImageFormat.JPEG, "truncated: no end-of-image marker after the image data");
            }
            int length = u16be(d, pos + 2);
            if (length < 2 || pos + 2L + length > d.length) {
                throw corrupt(ImageFormat.JPEG, length < 2 ? "segment with invalid length at byte " + pos
                        : scans == 0 ? "truncated before the start of the image data"
                                : "truncated: no end-of-image marker after the image data");
            }
            if (isStartOfFrame(marker)) {
                if (width >= 0) { // libjpeg refuses it, other readers take the second: never ambiguous here
                    throw corrupt(ImageFormat.JPEG, "a second frame header (SOF) at byte " + pos);
                }
                if (length < 8) {
                    throw corrupt(ImageFormat.JPEG, "truncated frame header");
                }
                height = u16be(d, pos + 5);
                width = u16be(d, pos + 7);
                components = d[pos + 9] & 0xFF;
                progressive = marker == 0xC2 || marker == 0xC6 || marker == 0xCA || marker == 0xCE;
                if (height == 0) { // the height comes later, in a DNL marker
                    throw corrupt(ImageFormat.JPEG, "frame height left to a DNL marker: the size is not known before the data");
                }
            }
            if (marker == 0xDC) {
                throw corrupt(ImageFormat.JPEG, "DNL marker at byte " + pos + " redefines the picture's height");
            }
            pos += 2 + length;
            if (marker == 0xDA) { // start of scan: entropy-coded data follows up to the next marker
                if (width < 0) {
                    throw corrupt(ImageFormat.JPEG, "image data before any frame header");
                }
                if (++scans > MAX_JPEG_SCANS) {
                    throw new SegmentationException(FailureReason.IMAGE_TOO_COMPLEX, "JPEG image with more than "
                            + MAX_JPEG_SCANS + " scans: each scan is a pass over the whole picture");
                }
                pos = endOfEntropyData(d, pos);
            }
        }
    }

    /** The next marker after entropy-coded data: 0xFF is stuffed as FF 00 there, and RSTn (FF D0–D7) may occur. */
    private static int endOfEntropyData(byte[] d, int from) {
        for (int i = from; i + 1 < d.length; i++) {
            if ((d[i] & 0xFF) != 0xFF) {
                continue;
            }
            int next = d[i + 1] & 0xFF;
            if (next == 0x00 || (next >= 0xD0 && next <= 0xD7) || next == 0xFF) {
                if (next != 0xFF) {
                    i++;
                }
                continue;
            }
            return i;
        }
        return d.length; // no marker: truncated
    }

    // ------------------------------------------------------------------------------------------------------- PNG

    private static ImageHeader png(byte[] d) {
        if (d.length < 24 || !at(d, 12, 'I', 'H', 'D', 'R')) {
            throw corrupt(ImageFormat.PNG, "missing IHDR header");
        }
        if (u32be(d, 8) != 13 || d.length < 33) {
            throw corrupt(ImageFormat.PNG, d.length < 33 ? "truncated IHDR header" : "IHDR of the wrong length");
        }
        long width = u32be(d, 16);
        long height = u32be(d, 20);
        boolean animated = false;
        int frames = 0;
        long pos = 33;
        // A truncated file ends the walk: libpng refuses missing data itself, and the size check comes first.
        while (pos + 12 <= d.length) {
            long length = u32be(d, (int) pos);
            if (length > Integer.MAX_VALUE || pos + 12 + length > d.length) {
                break;
            }
            int type = (int) u32be(d, (int) pos + 4);
            int body = (int) pos + 8;
            if (type == chunk("IHDR")) {
                throw corrupt(ImageFormat.PNG, "a second IHDR header at byte " + pos);
            } else if (type == chunk("IEND")) {
                return new ImageHeader(ImageFormat.PNG, width, height);
            } else if (type == chunk("acTL")) {
                animated = true;
            } else if (type == chunk("fcTL")) {
                if (length < 26) {
                    throw corrupt(ImageFormat.PNG, "APNG frame control chunk of " + length + " bytes");
                }
                if (++frames > MAX_APNG_FRAMES) {
                    throw new SegmentationException(FailureReason.IMAGE_TOO_COMPLEX,
                            "APNG image with more than " + MAX_APNG_FRAMES + " frames");
                }
                long fw = u32be(d, body + 4);
                long fh = u32be(d, body + 8);
                long fx = u32be(d, body + 12);
                long fy = u32be(d, body + 16);
                if (fw == 0 || fh == 0 || fx + fw > width || fy + fh > height) {
                    throw corrupt(ImageFormat.PNG, "APNG frame " + frames + " of " + fw + "x" + fh + " at (" + fx
                            + "," + fy + ") outside the " + width + "x" + height + " canvas");
                }
            }
            pos += 12 + length;
        }
        return new ImageHeader(ImageFormat.PNG, width, height);
    }

    private static int chunk(String fourCc) {
        return (fourCc.charAt(0) << 24) | (fourCc.charAt(1) << 16) | (fourCc.charAt(2) << 8) | fourCc.charAt(3);
    }

    // ------------------------------------------------------------------------------------------------------ WebP

    private static ImageHeader webp(byte[] d) {
        if (d.length < 30) {
            throw corrupt(ImageFormat.WEBP, "truncated header");
        }
        if (u32le(d, 4) + 8 > d.length) {
            throw corrupt(ImageFormat.WEBP, "truncated: the RIFF container declares " + (u32le(d, 4) + 8) + " bytes");
        }
        if (at(d, 12, 'V', 'P', '8', 'X')) {
            return vp8x(d);
        }
        long[] size = frameSize(d, 12);
        if (size == null) {
            throw corrupt(ImageFormat.WEBP, "unknown first chunk " + fourCc(d, 12));
        }
        return new ImageHeader(ImageFormat.WEBP, size[0], size[1]);
    }

    /** Extended WebP: the canvas must be the frame's size; animation is not served (one picture per event). */
    private static ImageHeader vp8x(byte[] d) {
        if ((d[20] & 0x02) != 0) {
            throw new SegmentationException(FailureReason.UNSUPPORTED_FORMAT,
                    "animated WebP is not supported (send one frame as a still picture)");
        }
        long width = u24le(d, 24) + 1;
        long height = u24le(d, 27) + 1;
        long end = Math.min(d.length, u32le(d, 4) + 8);
        long pos = 12 + 8 + 10;
        while (pos + 8 <= end) {
            String type = fourCc(d, (int) pos);
            long size = u32le(d, (int) pos + 4);
            if (type.equals("ANIM") || type.equals("ANMF")) {
                throw new SegmentationException(FailureReason.UNSUPPORTED_FORMAT,
                        "animated WebP is not supported (send one frame as a still picture)");
            }
            long[] frame = frameSize(d, (int) pos);
            if (frame != null) {
                if (frame[0] != width || frame[1] != height) {
                    throw corrupt(ImageFormat.WEBP, "VP8X canvas of " + width + "x" + height + " around a frame of "
                            + frame[0] + "x" + frame[1]);
                }
                return new ImageHeader(ImageFormat.WEBP, width, height);
            }
            pos += 8 + size + (size & 1);
        }
        throw corrupt(ImageFormat.WEBP, "no image data after the VP8X header");
    }

    /** The size of a VP8 or VP8L chunk's frame at {@code chunk}, or null for another chunk. */
    private static long[] frameSize(byte[] d, int chunk) {
        if (at(d, chunk, 'V', 'P', '8', ' ')) {
            check(d, chunk, 18);
            if ((d[chunk + 11] & 0xFF) != 0x9D || (d[chunk + 12] & 0xFF) != 0x01 || (d[chunk + 13] & 0xFF) != 0x2A) {
                throw corrupt(ImageFormat.WEBP, "bad VP8 frame signature");
            }
            return new long[] {u16le(d, chunk + 14) & 0x3FFF, u16le(d, chunk + 16) & 0x3FFF};
        }
        if (at(d, chunk, 'V', 'P', '8', 'L')) {
            check(d, chunk, 13);
            if ((d[chunk + 8] & 0xFF) != 0x2F) {
                throw corrupt(ImageFormat.WEBP, "bad VP8L signature");
            }
            long bits = u32le(d, chunk + 9);
            return new long[] {(bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1};
        }
        return null;
    }

    private static String fourCc(byte[] d, int p) {
        check(d, p, 4);
        return new String(d, p, 4, java.nio.charset.StandardCharsets.ISO_8859_1);
    }

    // ------------------------------------------------------------------------------------------------------- BMP

    private static ImageHeader bmp(byte[] d) {
        if (d.length < 26) {
            throw corrupt(ImageFormat.BMP, "truncated header");
        }
        long dibSize = u32le(d, 14);
        if (dibSize == 12) {
            return new ImageHeader(ImageFormat.BMP, u16le(d, 18), u16le(d, 20));
        }
        if (dibSize < 40) {
            throw corrupt(ImageFormat.BMP, "unknown DIB header of " + dibSize + " bytes");
        }
        check(d, 14, 40);
        int width = (int) u32le(d, 18);
        int height = (int) u32le(d, 22);
        if (width <= 0 || height == 0 || height == Integer.MIN_VALUE) {
            throw corrupt(ImageFormat.BMP, "declares an impossible size " + width + "x" + height);
        }
        long rows = Math.abs((long) height); // negative height: top-down rows
        int bits = u16le(d, 28);
        long compression = u32le(d, 30);
        if (compression == 0 || compression == 3) { // uncompressed rows (BI_RGB, BI_BITFIELDS) must be in the file
            long stride = ((width * (long) bits + 31) / 32) * 4;
            long needed = u32le(d, 10) + stride * rows;
            if (needed > d.length) {
                throw corrupt(ImageFormat.BMP, "truncated: " + width + "x" + rows + " at " + bits
                        + " bits needs " + needed + " bytes, the file has " + d.length);
            }
        }
        return new ImageHeader(ImageFormat.BMP, width, rows);
    }

    // ------------------------------------------------------------------------------------------------------ TIFF

    private static final int[] TIFF_TYPE_SIZES = {0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4, 0, 0, 8, 8, 8};

    private static ImageHeader tiff(byte[] d) {
        boolean little = d[0] == 'I';
        if (d.length < 8) {
            throw corrupt(ImageFormat.TIFF, "truncated header");
        }
        long ifd = little ? u32le(d, 4) : u32be(d, 4);
        if (ifd < 8 || ifd + 2 > d.length) {
            throw corrupt(ImageFormat.TIFF, "first directory offset " + ifd + " outside the file");
        }
        int entries = little ? u16le(d, (int) ifd) : u16be(d, (int) ifd);
        if (entries == 0 || ifd + 2 + 12L * entries + 4 > d.length) {
            throw corrupt(ImageFormat.TIFF, entries == 0 ? "empty directory" : "truncated directory");
        }
        long width = -1;
        long height = -1;
        long bitsPerSample = 1;
        long samples = 1;
        long sampleFormat = 1;
        long rowsPerStrip = 0xFFFFFFFFL;
        long tileWidth = -1;
        long tileLength = -1;
        long[] offsets = null; // {type, count, where}: read lazily, the arrays can be long
        long[] counts = null;
        int previousTag = -1;
        for (int i = 0; i < entries; i++) {
            int e = (int) ifd + 2 + 12 * i;
            int tag = little ? u16le(d, e) : u16be(d, e);
            int type = little ? u16le(d, e + 2) : u16be(d, e + 2);
            long count = little ? u32le(d, e + 4) : u32be(d, e + 4);
            if (tag == previousTag) { // libtiff keeps the first, other readers the last: refuse the ambiguity
                throw corrupt(ImageFormat.TIFF, "the first directory names tag " + tag + " twice");
            }
            if (tag < previousTag) {
                throw corrupt(ImageFormat.TIFF, "directory entries out of order (tag " + tag + " after " + previousTag
                        + "; TIFF requires ascending tags)");
            }
            previousTag = tag;
            int typeSize = type < TIFF_TYPE_SIZES.length ? TIFF_TYPE_SIZES[type] : 0;
            long bytes = typeSize * count;
            long valueAt = e + 8;
            if (bytes > 4) {
                valueAt = little ? u32le(d, e + 8) : u32be(d, e + 8);
                if (valueAt + bytes > d.length) {
                    throw corrupt(ImageFormat.TIFF, "tag " + tag + " has values outside the file");
                }
            }
            switch (tag) {
                case 256 -> width = scalar(d, little, tag, type, count, valueAt);
                case 257 -> height = scalar(d, little, tag, type, count, valueAt);
                case 258 -> bitsPerSample = max(values(d, little, tag, type, count, valueAt));
                case 277 -> samples = scalar(d, little, tag, type, count, valueAt);
                case 278 -> rowsPerStrip = scalar(d, little, tag, type, count, valueAt);
                case 322 -> tileWidth = scalar(d, little, tag, type, count, valueAt);
                case 323 -> tileLength = scalar(d, little, tag, type, count, valueAt);
                case 339 -> sampleFormat = max(values(d, little, tag, type, count, valueAt));
                case 273, 324 -> offsets = new long[] {type, count, valueAt};
                case 279, 325 -> counts = new long[] {type, count, valueAt};
                default -> {
                }
            }
        }
        long next = little ? u32le(d, (int) ifd + 2 + 12 * entries) : u32be(d, (int) ifd + 2 + 12 * entries);
        if (next != 0) {
            throw new SegmentationException(FailureReason.IMAGE_TOO_COMPLEX,
                    "multi-page TIFF (a second directory follows the first): only single-page pictures are served");
        }
        if (width < 0 || height < 0) {
            throw corrupt(ImageFormat.TIFF, "no image width or length in the first directory");
        }
        if (sampleFormat == 3 || bitsPerSample > 16) {
            throw new SegmentationException(FailureReason.UNSUPPORTED_FORMAT, "TIFF with " + bitsPerSample + "-bit "
                    + (sampleFormat == 3 ? "floating-point " : "") + "samples is not supported (8 or 16-bit integers only)");
        }
        if (samples < 1 || bitsPerSample < 1) {
            throw corrupt(ImageFormat.TIFF, "declares " + samples + " samples of " + bitsPerSample + " bits");
        }
        if (offsets != null && counts != null) {
            for (int i = 0; i < Math.min(offsets[1], counts[1]); i++) {
                if (value(d, little, offsets, i) + value(d, little, counts, i) > d.length) {
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
            unitPixels = times(width, Math.min(rowsPerStrip, height)); // libtiff clamps RowsPerStrip to the picture
            unit = "strip of " + width + "x" + Math.min(rowsPerStrip, height);
        }
        long pixels = times(width, height);
        long allowed = pixels > Long.MAX_VALUE - TILE_SLACK_PIXELS ? Long.MAX_VALUE : pixels + TILE_SLACK_PIXELS;
        if (unitPixels > allowed) { // libtiff and OpenCV allocate a whole strip or tile
            throw new SegmentationException(FailureReason.IMAGE_TOO_COMPLEX, "TIFF " + unit
                    + " is larger than the " + width + "x" + height + " picture itself");
        }
        long bytesPerSample = (bitsPerSample + 7) / 8;
        long working = times(unitPixels, times(samples, bytesPerSample) + 4); // + libtiff's RGBA buffer, 4 B/px
        return new ImageHeader(ImageFormat.TIFF, width, height, working);
    }

    /** a × b for non-negative sizes, saturating at Long.MAX_VALUE instead of overflowing. */
    static long times(long a, long b) {
        if (a <= 0 || b <= 0) {
            return a * b; // only for sizes the probe refuses as empty anyway
        }
        return a > Long.MAX_VALUE / b ? Long.MAX_VALUE : a * b;
    }

    /** A one-valued SHORT or LONG field (the size and layout tags). */
    private static long scalar(byte[] d, boolean little, int tag, long type, long count, long at) {
        if (count != 1) {
            throw corrupt(ImageFormat.TIFF, "tag " + tag + " with " + count + " values");
        }
        return values(d, little, tag, type, count, at)[0];
    }

    private static long[] values(byte[] d, boolean little, int tag, long type, long count, long at) {
        if (type != 3 && type != 4) {
            throw corrupt(ImageFormat.TIFF, "tag " + tag + " stored with field type " + type);
        }
        if (count < 1 || count > 64) { // only per-sample fields come here, and samples are few
            throw corrupt(ImageFormat.TIFF, "tag " + tag + " with " + count + " values");
        }
        long[] v = new long[(int) count];
        for (int i = 0; i < count; i++) {
            int p = (int) at + i * (type == 3 ? 2 : 4);
            v[i] = type == 3 ? (little ? u16le(d, p) : u16be(d, p)) : (little ? u32le(d, p) : u32be(d, p));
        }
        return v;
    }

    /** Value i of a SHORT or LONG array field described as {type, count, where}. */
    private static long value(byte[] d, boolean little, long[] field, int i) {
        if (field[0] != 3 && field[0] != 4) {
            throw corrupt(ImageFormat.TIFF, "strip or tile table stored with field type " + field[0]);
        }
        int p = (int) field[2] + i * (field[0] == 3 ? 2 : 4);
        return field[0] == 3 ? (little ? u16le(d, p) : u16be(d, p)) : (little ? u32le(d, p) : u32be(d, p));
    }

    private static long max(long[] values) {
        long m = values[0];
        for (long v : values) {
            m = Math.max(m, v);
        }
        return m;
    }

    private static SegmentationException corrupt(ImageFormat format, String what) {
        return new SegmentationException(FailureReason.CORRUPT_IMAGE, "corrupt " + format + " image: " + what);
    }

    private static boolean startsWith(byte[] d, int... magic) {
        return at(d, 0, magic);
    }

    private static boolean at(byte[] d, int offset, int... magic) {
        if (d.length < offset + magic.length) {
            return false;
        }
        for (int i = 0; i < magic.length; i++) {
            if ((d[offset + i] & 0xFF) != (magic[i] & 0xFF)) {
                return false;
            }
        }
        return true;
    }

    private static int u16be(byte[] d, int p) {
        check(d, p, 2);
        return ((d[p] & 0xFF) << 8) | (d[p + 1] & 0xFF);
    }

    private static int u16le(byte[] d, int p) {
        check(d, p, 2);
        return ((d[p + 1] & 0xFF) << 8) | (d[p] & 0xFF);
    }

    private static long u24le(byte[] d, int p) {
        check(d, p, 3);
        return ((d[p + 2] & 0xFFL) << 16) | ((d[p + 1] & 0xFFL) << 8) | (d[p] & 0xFFL);
    }

    private static long u32be(byte[] d, int p) {
        check(d, p, 4);
        return ((d[p] & 0xFFL) << 24) | ((d[p + 1] & 0xFFL) << 16) | ((d[p + 2] & 0xFFL) << 8) | (d[p + 3] & 0xFFL);
    }

    private static long u32le(byte[] d, int p) {
        check(d, p, 4);
        return ((d[p + 3] & 0xFFL) << 24) | ((d[p + 2] & 0xFFL) << 16) | ((d[p + 1] & 0xFFL) << 8) | (d[p] & 0xFFL);
    }

    private static void check(byte[] d, int p, int n) {
        if (p < 0 || p + n > d.length) {
            throw new SegmentationException(FailureReason.CORRUPT_IMAGE, "corrupt image: header truncated at byte " + p);
        }
    }

    private static String hex(byte[] d, int n) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < Math.min(n, d.length); i++) {
            sb.append(String.format("%02x", d[i] & 0xFF));
        }
        return sb.toString();
    }
}
