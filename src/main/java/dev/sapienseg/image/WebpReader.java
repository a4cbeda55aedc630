package dev.sapienseg.image;

import static dev.sapienseg.image.ImageHeaderProbe.corrupt;

import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.failure.SegmentationException;

/**
 * WebP (a RIFF container, little-endian): a lossy (VP8) or lossless (VP8L) frame, or an extended (VP8X) canvas that
 * must match its VP8/VP8L frame. Animated WebP is not served: one picture per event.
 */
final class WebpReader {

    private static final String RIFF = "RIFF";
    private static final String WEBP = "WEBP";
    private static final String VP8 = "VP8 ";
    private static final String VP8L = "VP8L";
    private static final String VP8X = "VP8X";
    private static final String ANIM = "ANIM";
    private static final String ANMF = "ANMF";

    // "RIFF", the container's size (not counting these 8 bytes), "WEBP", then the first chunk.
    private static final int RIFF_SIZE = 4;
    private static final int RIFF_HEADER = 8;
    private static final int FORM_TYPE = 8;
    private static final int FIRST_CHUNK = 12;
    /** Up to the end of a VP8X chunk: shorter files are refused, whatever their first chunk. */
    private static final int MIN_LENGTH = 30;

    // A chunk's type, then its size (not counting these 8 bytes); odd sizes are padded to even.
    private static final int CHUNK_SIZE = 4;
    private static final int CHUNK_HEADER = 8;

    // VP8X data: flags, 3 reserved bytes, canvas width − 1 and height − 1 (24 bits each).
    private static final int VP8X_FLAGS = FIRST_CHUNK + CHUNK_HEADER;
    private static final int VP8X_ANIMATION = 0x02;
    private static final int VP8X_CANVAS_WIDTH = VP8X_FLAGS + 4;
    private static final int VP8X_CANVAS_HEIGHT = VP8X_CANVAS_WIDTH + 3;
    private static final int VP8X_DATA_LENGTH = 10;

    // VP8 data, from the chunk: a 3-byte frame tag, the start code, then 14-bit width and height (2 scale bits).
    private static final int VP8_START_CODE = CHUNK_HEADER + 3;
    private static final int[] VP8_START_CODE_BYTES = {0x9D, 0x01, 0x2A};
    private static final int VP8_WIDTH = VP8_START_CODE + 3;
    private static final int VP8_HEIGHT = VP8_WIDTH + 2;
    private static final int VP8_SIZE_MASK = 0x3FFF;

    // VP8L data, from the chunk: a signature byte, then width − 1 and height − 1 in 14 bits each.
    private static final int VP8L_SIGNATURE = CHUNK_HEADER;
    private static final int VP8L_SIGNATURE_BYTE = 0x2F;
    private static final int VP8L_SIZE = VP8L_SIGNATURE + 1;
    private static final int VP8L_SIZE_BITS = 14;
    private static final int VP8L_SIZE_MASK = (1 << VP8L_SIZE_BITS) - 1;

    private static final String ANIMATED = "animated WebP is not supported (send one frame as a still picture)";

    /** A frame's size as its VP8 or VP8L chunk states it. */
    private record Size(long width, long height) {
    }

    private WebpReader() {
    }

    /** Any RIFF container that is a WebP, or too short to say: a truncated one is refused as a corrupt WebP. */
    static boolean recognises(byte[] data) {
        ByteOrderReader in = ByteOrderReader.littleEndian(data);
        return in.matches(0, RIFF) && (in.length() < FIRST_CHUNK || in.matches(FORM_TYPE, WEBP));
    }

    static ImageHeader read(byte[] data) {
        ByteOrderReader in = ByteOrderReader.littleEndian(data);
        if (in.length() < FIRST_CHUNK) {
            throw corrupt(ImageFormat.WEBP, "truncated RIFF header");
        }
        if (in.length() < MIN_LENGTH) {
            throw corrupt(ImageFormat.WEBP, "truncated header");
        }
        long declared = in.u32(RIFF_SIZE) + RIFF_HEADER;
        if (declared > in.length()) {
            throw corrupt(ImageFormat.WEBP, "truncated: the RIFF container declares " + declared + " bytes");
        }
        if (in.matches(FIRST_CHUNK, VP8X)) {
            return extended(in, declared);
        }
        Size size = frameSize(in, FIRST_CHUNK);
        if (size == null) {
            throw corrupt(ImageFormat.WEBP, "unknown first chunk " + in.fourCc(FIRST_CHUNK));
        }
        return new ImageHeader(ImageFormat.WEBP, size.width(), size.height());
    }

    /** Extended WebP: the canvas must be the frame's size, so the size probed is the size decoded. */
    private static ImageHeader extended(ByteOrderReader in, long declared) {
        if ((in.u8(VP8X_FLAGS) & VP8X_ANIMATION) != 0) {
            throw new SegmentationException(FailureReason.UNSUPPORTED_FORMAT, ANIMATED);
        }
        long width = in.u24(VP8X_CANVAS_WIDTH) + 1;
        long height = in.u24(VP8X_CANVAS_HEIGHT) + 1;
        long end = Math.min(in.length(), declared);
        long pos = FIRST_CHUNK + CHUNK_HEADER + VP8X_DATA_LENGTH;
        while (pos + CHUNK_HEADER <= end) {
            String type = in.fourCc(pos);
            long size = in.u32(pos + CHUNK_SIZE);
            if (type.equals(ANIM) || type.equals(ANMF)) { // animation chunks without the flag: still animated
                throw new SegmentationException(FailureReason.UNSUPPORTED_FORMAT, ANIMATED);
            }
            Size frame = frameSize(in, pos);
            if (frame != null) {
                if (frame.width() != width || frame.height() != height) {
                    throw corrupt(ImageFormat.WEBP, "VP8X canvas of " + width + "x" + height + " around a frame of "
                            + frame.width() + "x" + frame.height());
                }
                return new ImageHeader(ImageFormat.WEBP, width, height);
            }
            pos += CHUNK_HEADER + size + (size & 1);
        }
        throw corrupt(ImageFormat.WEBP, "no image data after the VP8X header");
    }

    /** The size of a VP8 or VP8L chunk's frame at {@code chunk}, or null for another chunk. */
    private static Size frameSize(ByteOrderReader in, long chunk) {
        if (in.matches(chunk, VP8)) {
            in.require(chunk, VP8_HEIGHT + 2);
            if (!in.matches(chunk + VP8_START_CODE, VP8_START_CODE_BYTES)) {
                throw corrupt(ImageFormat.WEBP, "bad VP8 frame signature");
            }
            return new Size(in.u16(chunk + VP8_WIDTH) & VP8_SIZE_MASK, in.u16(chunk + VP8_HEIGHT) & VP8_SIZE_MASK);
        }
        if (in.matches(chunk, VP8L)) {
            in.require(chunk, VP8L_SIZE + 4);
            if (in.u8(chunk + VP8L_SIGNATURE) != VP8L_SIGNATURE_BYTE) {
                throw corrupt(ImageFormat.WEBP, "bad VP8L signature");
            }
            long bits = in.u32(chunk + VP8L_SIZE);
            return new Size((bits & VP8L_SIZE_MASK) + 1, ((bits >> VP8L_SIZE_BITS) & VP8L_SIZE_MASK) + 1);
        }
        return null;
    }
}
