package dev.sapienseg.output;

/**
 * One picture's slice of the model's output as the model gave it, for the {@code logits-npy} output: {@code (C, h,
 * w)} at the model's resolution, little-endian {@code float16} ({@code <f2}) for a half-precision model, else
 * {@code float32} ({@code <f4}).
 */
public record RawLogits(String dtype, int channels, int height, int width, byte[] data) {

    public RawLogits {
        int size = dtype.equals("<f2") ? 2 : 4;
        if ((long) channels * height * width * size != data.length) {
            throw new IllegalArgumentException("logits of " + channels + "x" + height + "x" + width + " " + dtype
                    + " are not " + data.length + " bytes");
        }
    }
}
