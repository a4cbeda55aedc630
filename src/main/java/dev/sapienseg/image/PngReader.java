package dev.sapienseg.image;

import static dev.sapienseg.image.ImageHeaderProbe.corrupt;

import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.failure.SegmentationException;

/**
 * PNG and APNG: chunks are walked (length, type; CRCs and truncation are libpng's business): exactly one IHDR, first;
 * an APNG frame (fcTL) must lie within the canvas, and at most {@link ImageHeaderProbe#MAX_APNG_FRAMES} frames. No
 * working memory: with {@code IMREAD_COLOR} libpng strips 16-bit samples to 8 row by row into the output.
 */
final class PngReader {

    private static final int[] SIGNATURE = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};

    private static final int IHDR = chunkType("IHDR");
    private static final int IEND = chunkType("IEND");
    /** APNG frame control: one frame's size and offset on the canvas. */
    private static final int FCTL = chunkType("fcTL");

    // A chunk's length and type before its data, its CRC after.
    private static final int CHUNK_LENGTH = 0;
    private static final int CHUNK_TYPE = 4;
    private static final int CHUNK_DATA = 8;
    private static final int CHUNK_OVERHEAD = 12;

    // IHDR comes right after the signature; its data starts with the width and height.
    private static final int IHDR_AT = SIGNATURE.length;
    private static final int IHDR_DATA_LENGTH = 13;
    private static final int IHDR_WIDTH = IHDR_AT + CHUNK_DATA;
    private static final int IHDR_HEIGHT = IHDR_WIDTH + 4;
    private static final int AFTER_IHDR = IHDR_AT + CHUNK_OVERHEAD + IHDR_DATA_LENGTH;

    // fcTL data: sequence number, then width, height, x and y offsets (then delays and disposal).
    private static final int FCTL_DATA_LENGTH = 26;
    private static final int FCTL_WIDTH = 4;
    private static final int FCTL_HEIGHT = 8;
    private static final int FCTL_X = 12;
    private static final int FCTL_Y = 16;

    private PngReader() {
    }

    static boolean recognises(byte[] data) {
        return ByteOrderReader.bigEndian(data).matches(0, SIGNATURE);
    }

    static ImageHeader read(byte[] data) {
        ByteOrderReader in = ByteOrderReader.bigEndian(data);
        if (in.length() < IHDR_HEIGHT + 4 || in.u32(IHDR_AT + CHUNK_TYPE) != IHDR) {
            throw corrupt(ImageFormat.PNG, "missing IHDR header");
        }
        if (in.u32(IHDR_AT + CHUNK_LENGTH) != IHDR_DATA_LENGTH || in.length() < AFTER_IHDR) {
            throw corrupt(ImageFormat.PNG,
                    in.length() < AFTER_IHDR ? "truncated IHDR header" : "IHDR of the wrong length");
        }
        long width = in.u32(IHDR_WIDTH);
        long height = in.u32(IHDR_HEIGHT);
        int frames = 0;
        long pos = AFTER_IHDR;
        // A truncated file ends the walk: libpng refuses missing data itself, and the size check comes first.
        while (pos + CHUNK_OVERHEAD <= in.length()) {
            long length = in.u32(pos + CHUNK_LENGTH);
            if (length > Integer.MAX_VALUE || pos + CHUNK_OVERHEAD + length > in.length()) {
                break;
            }
            int type = (int) in.u32(pos + CHUNK_TYPE);
            long body = pos + CHUNK_DATA;
            if (type == IHDR) {
                throw corrupt(ImageFormat.PNG, "a second IHDR header at byte " + pos);
            } else if (type == IEND) {
                return new ImageHeader(ImageFormat.PNG, width, height);
            } else if (type == FCTL) {
                if (length < FCTL_DATA_LENGTH) {
                    throw corrupt(ImageFormat.PNG, "APNG frame control chunk of " + length + " bytes");
                }
                if (++frames > ImageHeaderProbe.MAX_APNG_FRAMES) {
                    throw new SegmentationException(FailureReason.IMAGE_TOO_COMPLEX,
                            "APNG image with more than " + ImageHeaderProbe.MAX_APNG_FRAMES + " frames");
                }
                long fw = in.u32(body + FCTL_WIDTH);
                long fh = in.u32(body + FCTL_HEIGHT);
                long fx = in.u32(body + FCTL_X);
                long fy = in.u32(body + FCTL_Y);
                if (fw == 0 || fh == 0 || fx + fw > width || fy + fh > height) {
                    throw corrupt(ImageFormat.PNG, "APNG frame " + frames + " of " + fw + "x" + fh + " at (" + fx
                            + "," + fy + ") outside the " + width + "x" + height + " canvas");
                }
            }
            pos += CHUNK_OVERHEAD + length;
        }
        return new ImageHeader(ImageFormat.PNG, width, height);
    }

    /** A chunk type as the big-endian number its four ASCII characters make. */
    private static int chunkType(String fourCc) {
        return (fourCc.charAt(0) << 24) | (fourCc.charAt(1) << 16) | (fourCc.charAt(2) << 8) | fourCc.charAt(3);
    }
}
