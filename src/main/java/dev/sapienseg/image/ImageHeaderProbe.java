package dev.sapienseg.image;

import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.failure.SegmentationException;

/**
 * Reads format and dimensions from an encoded image's headers without decoding pixels, so that a decompression
 * bomb (a tiny file declaring 60000×60000 pixels) is refused before anything is allocated, and so that formats we
 * do not serve are named precisely. OpenCV has no header-only API in Java, hence this small reader.
 *
 * <p>The size it reports must be the size the decoder will produce, so it walks each format's structure (marker,
 * chunk and directory tables only, never pixel data) and refuses what it cannot bound unambiguously. This class
 * recognises the format by its magic bytes and hands the file to that format's reader ({@code JpegReader},
 * {@code PngReader}, {@code WebpReader}, {@code BmpReader}, {@code TiffReader}), where its rules are written down:
 * one JPEG frame header and at most {@link #MAX_JPEG_SCANS} scans to an end-of-image marker, one IHDR and at most
 * {@link #MAX_APNG_FRAMES} APNG frames inside the canvas, a WebP canvas matching its frame, BMP rows inside the file,
 * one TIFF directory with strips or tiles no larger than the picture (plus {@link #TILE_SLACK_PIXELS}).
 *
 * <p>Working memory: {@link ImageHeader#workingBytes()} is what the decoder holds at the source depth besides its
 * 8-bit output: a TIFF strip or tile × samples × bytes per sample (libtiff reads whole strips), a progressive JPEG's
 * coefficient buffer (2 bytes per sample); PNG needs none. {@link ImageDecoder} refuses it above
 * {@link ImageLimits#maxWorkingBytes()}.
 */
public final class ImageHeaderProbe {

    /** More scans than any encoder writes (progressive libjpeg output has about 10, exotic scripts stay under 30). */
    public static final int MAX_JPEG_SCANS = 100;
    public static final int MAX_APNG_FRAMES = 100;
    /** A strip or tile may cover this many pixels beyond the picture (a 256×256 tile on a thumbnail is normal). */
    public static final long TILE_SLACK_PIXELS = 1 << 20;

    /** How many leading bytes an unsupported file's refusal shows. */
    private static final int SHOWN_BYTES = 8;

    private ImageHeaderProbe() {
    }

    /** The format and stored size the headers of {@code data} declare, or a refusal naming what is wrong with them. */
    public static ImageHeader probe(byte[] data) {
        if (data == null || data.length == 0) {
            throw new SegmentationException(FailureReason.EMPTY_IMAGE, "the event carries no image data");
        }
        ImageHeader header;
        if (JpegReader.recognises(data)) {
            header = JpegReader.read(data);
        } else if (PngReader.recognises(data)) {
            header = PngReader.read(data);
        } else if (WebpReader.recognises(data)) {
            header = WebpReader.read(data);
        } else if (BmpReader.recognises(data)) {
            header = BmpReader.read(data);
        } else if (TiffReader.recognises(data)) {
            header = TiffReader.read(data);
        } else {
            throw new SegmentationException(FailureReason.UNSUPPORTED_FORMAT,
                    "not a supported image (expected JPEG, PNG, WebP, BMP or TIFF; first bytes: "
                            + ByteOrderReader.bigEndian(data).hex(SHOWN_BYTES) + ")");
        }
        if (header.width() <= 0 || header.height() <= 0) {
            throw corrupt(header.format(), "declares an empty size " + header.width() + "x" + header.height());
        }
        return header;
    }

    /** a × b for non-negative sizes, saturating at Long.MAX_VALUE instead of overflowing. */
    static long times(long a, long b) {
        if (a <= 0 || b <= 0) {
            return a * b; // only for sizes the probe refuses as empty anyway
        }
        return a > Long.MAX_VALUE / b ? Long.MAX_VALUE : a * b;
    }

    /** The refusal of a file whose headers break its format's rules, in the one wording every reader uses. */
    static SegmentationException corrupt(ImageFormat format, String what) {
        return new SegmentationException(FailureReason.CORRUPT_IMAGE, "corrupt " + format + " image: " + what);
    }
}
