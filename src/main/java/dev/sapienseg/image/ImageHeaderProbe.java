package dev.sapienseg.image;

import dev.sapienseg.pipeline.FailureReason;
import dev.sapienseg.pipeline.SegmentationException;

/**
 * Reads format and dimensions from an encoded image's header without decoding pixels, so that a decompression
 * bomb (a tiny file declaring 60000×60000 pixels) is refused before anything is allocated, and so that formats we
 * do not serve are named precisely. OpenCV has no header-only API in Java, hence this small reader.
 * It also refuses JPEGs without an end-of-image marker, which libjpeg would otherwise decode as a grey-padded
 * picture and segment silently.
 */
public final class ImageHeaderProbe {

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

    private static ImageHeader jpeg(byte[] d) {
        int pos = 2;
        long width = -1;
        long height = -1;
        while (true) {
            if (pos + 4 > d.length) {
                throw corrupt(ImageFormat.JPEG, "truncated before the start of the image data");
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
                throw corrupt(ImageFormat.JPEG, "ends before any image data");
            }
            int length = u16be(d, pos + 2);
            if (length < 2) {
                throw corrupt(ImageFormat.JPEG, "segment with invalid length at byte " + pos);
            }
            boolean startOfFrame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
            if (startOfFrame) {
                if (pos + 9 > d.length) {
                    throw corrupt(ImageFormat.JPEG, "truncated frame header");
                }
                height = u16be(d, pos + 5);
                width = u16be(d, pos + 7);
            }
            if (marker == 0xDA) { // start of scan: entropy-coded data follows
                if (width < 0) {
                    throw corrupt(ImageFormat.JPEG, "image data before any frame header");
                }
                if (!hasEndOfImageAfter(d, pos + 2 + length)) {
                    throw corrupt(ImageFormat.JPEG, "truncated: no end-of-image marker after the image data");
                }
                return new ImageHeader(ImageFormat.JPEG, width, height);
            }
            pos += 2 + length;
        }
    }

    /** FF D9 cannot occur inside entropy-coded data (0xFF is stuffed as FF 00 there), so its presence ends the image. */
    private static boolean hasEndOfImageAfter(byte[] d, int from) {
        for (int i = d.length - 2; i >= from; i--) {
            if ((d[i] & 0xFF) == 0xFF && (d[i + 1] & 0xFF) == 0xD9) {
                return true;
            }
        }
        return false;
    }

    private static ImageHeader png(byte[] d) {
        if (d.length < 24 || !at(d, 12, 'I', 'H', 'D', 'R')) {
            throw corrupt(ImageFormat.PNG, "missing IHDR header");
        }
        return new ImageHeader(ImageFormat.PNG, u32be(d, 16), u32be(d, 20));
    }

    private static ImageHeader webp(byte[] d) {
        if (d.length < 30) {
            throw corrupt(ImageFormat.WEBP, "truncated header");
        }
        if (at(d, 12, 'V', 'P', '8', ' ')) {
            if ((d[23] & 0xFF) != 0x9D || (d[24] & 0xFF) != 0x01 || (d[25] & 0xFF) != 0x2A) {
                throw corrupt(ImageFormat.WEBP, "bad VP8 frame signature");
            }
            return new ImageHeader(ImageFormat.WEBP, u16le(d, 26) & 0x3FFF, u16le(d, 28) & 0x3FFF);
        }
        if (at(d, 12, 'V', 'P', '8', 'L')) {
            if ((d[20] & 0xFF) != 0x2F) {
                throw corrupt(ImageFormat.WEBP, "bad VP8L signature");
            }
            long bits = u32le(d, 21);
            return new ImageHeader(ImageFormat.WEBP, (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1);
        }
        if (at(d, 12, 'V', 'P', '8', 'X')) {
            return new ImageHeader(ImageFormat.WEBP, u24le(d, 24) + 1, u24le(d, 27) + 1);
        }
        throw corrupt(ImageFormat.WEBP, "unknown first chunk " + new String(d, 12, 4, java.nio.charset.StandardCharsets.ISO_8859_1));
    }

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
        int width = (int) u32le(d, 18);
        int height = (int) u32le(d, 22);
        return new ImageHeader(ImageFormat.BMP, width, Math.abs((long) height)); // negative height: top-down rows
    }

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
        long width = -1;
        long height = -1;
        for (int i = 0; i < entries; i++) {
            int e = (int) ifd + 2 + 12 * i;
            if (e + 12 > d.length) {
                throw corrupt(ImageFormat.TIFF, "truncated directory");
            }
            int tag = little ? u16le(d, e) : u16be(d, e);
            int type = little ? u16le(d, e + 2) : u16be(d, e + 2);
            if (tag != 256 && tag != 257) {
                continue;
            }
            long value;
            if (type == 3) { // SHORT, left-justified in the value field
                value = little ? u16le(d, e + 8) : u16be(d, e + 8);
            } else if (type == 4) { // LONG
                value = little ? u32le(d, e + 8) : u32be(d, e + 8);
            } else {
                throw corrupt(ImageFormat.TIFF, "image size stored with field type " + type);
            }
            if (tag == 256) {
                width = value;
            } else {
                height = value;
            }
        }
        if (width < 0 || height < 0) {
            throw corrupt(ImageFormat.TIFF, "no image width or length in the first directory");
        }
        return new ImageHeader(ImageFormat.TIFF, width, height);
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
