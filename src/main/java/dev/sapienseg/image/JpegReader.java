package dev.sapienseg.image;

import static dev.sapienseg.image.ImageHeaderProbe.corrupt;

import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.failure.SegmentationException;

/**
 * JPEG: one frame header (SOF) only; every scan is walked to the end-of-image marker, and more than
 * {@link ImageHeaderProbe#MAX_JPEG_SCANS} scans are refused (each scan of a progressive JPEG is a pass over the whole
 * picture); a DNL marker (height defined after the image data) is refused, and so is a JPEG without an end-of-image
 * marker, which libjpeg would otherwise decode as a grey-padded picture and segment silently. A progressive JPEG's
 * working memory is its coefficient buffer.
 */
final class JpegReader {

    /** SOI, then the first byte of the next marker. */
    private static final int[] SIGNATURE = {0xFF, 0xD8, 0xFF};

    /** Every marker starts with it; repeated, it is a fill byte before the marker. */
    private static final int MARKER_PREFIX = 0xFF;
    /** After a prefix in entropy-coded data: the 0xFF was a data byte, stuffed. */
    private static final int STUFFED_ZERO = 0x00;
    private static final int TEM = 0x01;
    private static final int SOF0 = 0xC0;
    private static final int SOF2 = 0xC2;
    private static final int DHT = 0xC4;
    private static final int SOF6 = 0xC6;
    private static final int JPG = 0xC8;
    private static final int SOF10 = 0xCA;
    private static final int DAC = 0xCC;
    private static final int SOF14 = 0xCE;
    private static final int SOF15 = 0xCF;
    private static final int RST0 = 0xD0;
    private static final int RST7 = 0xD7;
    private static final int SOI = 0xD8;
    private static final int EOI = 0xD9;
    private static final int SOS = 0xDA;
    private static final int DNL = 0xDC;

    /** The first marker after SOI. */
    private static final int FIRST_MARKER = 2;
    // Offsets from a segment's marker: its length (which counts itself, not the marker), then the SOF fields.
    private static final int SEGMENT_LENGTH = 2;
    private static final int SOF_HEIGHT = 5;
    private static final int SOF_WIDTH = 7;
    private static final int SOF_COMPONENTS = 9;
    /** Length, precision, height, width and component count. */
    private static final int MIN_SOF_LENGTH = 8;
    /** A progressive decoder keeps every coefficient, 16 bits each. */
    private static final long COEFFICIENT_BYTES = 2;

    private static final String TRUNCATED_BEFORE_DATA = "truncated before the start of the image data";
    private static final String TRUNCATED_AFTER_DATA = "truncated: no end-of-image marker after the image data";

    /** The frame header's size and what the decoder keeps for it. */
    private record Frame(long width, long height, int components, boolean progressive) {
    }

    private JpegReader() {
    }

    static boolean recognises(byte[] data) {
        return ByteOrderReader.bigEndian(data).matches(0, SIGNATURE);
    }

    static ImageHeader read(byte[] data) {
        ByteOrderReader in = ByteOrderReader.bigEndian(data);
        int pos = FIRST_MARKER;
        Frame frame = null;
        int scans = 0;
        while (true) {
            if (pos + 2 > in.length() || (scans == 0 && pos + 4 > in.length())) {
                throw corrupt(ImageFormat.JPEG, scans == 0 ? TRUNCATED_BEFORE_DATA : TRUNCATED_AFTER_DATA);
            }
            if (in.u8(pos) != MARKER_PREFIX) {
                throw corrupt(ImageFormat.JPEG, "expected a marker at byte " + pos);
            }
            int marker = in.u8(pos + 1);
            if (marker == MARKER_PREFIX) { // fill byte
                pos++;
                continue;
            }
            if (isStandalone(marker)) {
                pos += 2;
                continue;
            }
            if (marker == EOI) {
                if (scans == 0) {
                    throw corrupt(ImageFormat.JPEG, "ends before any image data");
                }
                return new ImageHeader(ImageFormat.JPEG, frame.width(), frame.height(), frame.progressive()
                        ? ImageHeaderProbe.times(frame.width() * frame.height(), frame.components() * COEFFICIENT_BYTES)
                        : 0);
            }
            if (pos + 4 > in.length()) {
                throw corrupt(ImageFormat.JPEG, TRUNCATED_AFTER_DATA);
            }
            int length = in.u16(pos + SEGMENT_LENGTH);
            if (length < 2 || pos + 2L + length > in.length()) {
                throw corrupt(ImageFormat.JPEG, length < 2 ? "segment with invalid length at byte " + pos
                        : scans == 0 ? TRUNCATED_BEFORE_DATA : TRUNCATED_AFTER_DATA);
            }
            if (isStartOfFrame(marker)) {
                if (frame != null) { // libjpeg refuses it, other readers take the second: never ambiguous here
                    throw corrupt(ImageFormat.JPEG, "a second frame header (SOF) at byte " + pos);
                }
                if (length < MIN_SOF_LENGTH) {
                    throw corrupt(ImageFormat.JPEG, "truncated frame header");
                }
                frame = new Frame(in.u16(pos + SOF_WIDTH), in.u16(pos + SOF_HEIGHT), in.u8(pos + SOF_COMPONENTS),
                        marker == SOF2 || marker == SOF6 || marker == SOF10 || marker == SOF14);
                if (frame.height() == 0) { // the height comes later, in a DNL marker
                    throw corrupt(ImageFormat.JPEG, "frame height left to a DNL marker: the size is not known before the data");
                }
            }
            if (marker == DNL) {
                throw corrupt(ImageFormat.JPEG, "DNL marker at byte " + pos + " redefines the picture's height");
            }
            pos += 2 + length;
            if (marker == SOS) { // entropy-coded data follows up to the next marker
                if (frame == null) {
                    throw corrupt(ImageFormat.JPEG, "image data before any frame header");
                }
                if (++scans > ImageHeaderProbe.MAX_JPEG_SCANS) {
                    throw new SegmentationException(FailureReason.IMAGE_TOO_COMPLEX, "JPEG image with more than "
                            + ImageHeaderProbe.MAX_JPEG_SCANS + " scans: each scan is a pass over the whole picture");
                }
                pos = endOfEntropyData(in, pos);
            }
        }
    }

    /** Markers without a length: TEM, RSTn, and a stray SOI. */
    private static boolean isStandalone(int marker) {
        return marker == TEM || (marker >= RST0 && marker <= SOI);
    }

    /** SOF0–SOF15, less the markers that share their range (DHT, JPG, DAC). */
    private static boolean isStartOfFrame(int marker) {
        return marker >= SOF0 && marker <= SOF15 && marker != DHT && marker != JPG && marker != DAC;
    }

    /** The next marker after entropy-coded data: 0xFF is stuffed as FF 00 there, and RSTn (FF D0–D7) may occur. */
    private static int endOfEntropyData(ByteOrderReader in, int from) {
        for (int i = in.indexOf(MARKER_PREFIX, from); i + 1 < in.length(); i = in.indexOf(MARKER_PREFIX, i + 1)) {
            int next = in.u8(i + 1);
            if (next == STUFFED_ZERO || (next >= RST0 && next <= RST7) || next == MARKER_PREFIX) {
                if (next != MARKER_PREFIX) {
                    i++;
                }
                continue;
            }
            return i;
        }
        return in.length(); // no marker: truncated
    }
}
