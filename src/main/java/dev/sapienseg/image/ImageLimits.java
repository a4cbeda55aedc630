package dev.sapienseg.image;

import java.time.Duration;

/**
 * Bounds on what a caller may send: encoded bytes, pixels as declared by the header (checked before decoding), and
 * the time one decode may take.
 *
 * <p>{@code imdecode} cannot be interrupted, so the decode budget is checked when it returns: a picture that took
 * longer is answered {@code IMAGE_TOO_COMPLEX} (permanent) instead of being segmented. What bounds the time in the
 * first place are the structural limits of {@link ImageHeaderProbe} (pixels, JPEG scans, one TIFF directory, tiles
 * no larger than the picture). The worst case measured over the structural attack corpus at a 50 Mpx limit on one
 * core of the 2-core build machine is a 100-scan progressive JPEG of 50 Mpx (45 MB): 5.4 s (a single-strip 16-bit
 * RGBA TIFF of 50 Mpx: 2.5 s); hence the 10 s default.
 */
public record ImageLimits(long maxBytes, long maxPixels, Duration decodeBudget) {

    public static final Duration DEFAULT_DECODE_BUDGET = Duration.ofSeconds(10);

    /** Bytes per pixel of the decoder's source-depth working memory that {@link #maxWorkingBytes()} allows. */
    public static final int WORKING_BYTES_PER_PIXEL = 8;

    public ImageLimits {
        if (decodeBudget == null || decodeBudget.isNegative() || decodeBudget.isZero()) {
            throw new IllegalArgumentException("decode budget must be positive: " + decodeBudget);
        }
    }

    public ImageLimits(long maxBytes, long maxPixels) {
        this(maxBytes, maxPixels, DEFAULT_DECODE_BUDGET);
    }

    /**
     * The most memory a decoder may hold at the picture's source depth (beyond its 8-bit BGR output): as much as a
     * 16-bit RGBA picture at the pixel limit, {@code maxPixels × 8} bytes.
     */
    public long maxWorkingBytes() {
        return maxPixels > Long.MAX_VALUE / WORKING_BYTES_PER_PIXEL ? Long.MAX_VALUE : maxPixels * WORKING_BYTES_PER_PIXEL;
    }
}
