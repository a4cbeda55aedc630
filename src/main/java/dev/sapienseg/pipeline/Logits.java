package dev.sapienseg.pipeline;

import java.nio.FloatBuffer;

/**
 * A view of one image's logits inside a model output buffer laid out {@code [channels][height][width]}
 * (NCHW, one N slot), starting at {@code offset}. Does not own the buffer.
 */
public record Logits(FloatBuffer buffer, int offset, int channels, int height, int width) {

    public Logits {
        long needed = (long) offset + (long) channels * height * width;
        if (channels < 1 || height < 1 || width < 1 || needed > buffer.limit()) {
            throw new IllegalArgumentException("logits view " + channels + "x" + height + "x" + width + " at " + offset
                    + " does not fit a buffer of " + buffer.limit() + " floats");
        }
    }
}
