package dev.sapienseg.pipeline;

/**
 * The horizontal half of PyTorch's bilinear sampling ({@code align_corners=False}), shared by every output row and
 * by both kernels that upsample logits ({@link UpsampleArgmax}, {@link SoftAlpha}).
 *
 * @param x0 per output column, its left source column
 * @param wx1 per output column, the right source column's weight, as PyTorch stores it
 * @param firstColumn per source column, the first output column of its cell (x0 never decreases); one more entry,
 *        {@code outWidth}, past the last
 */
record SourceColumns(int[] x0, float[] wx1, int[] firstColumn) {

    static SourceColumns of(int sourceWidth, int outWidth) {
        int[] x0 = new int[outWidth];
        float[] wx1 = new float[outWidth];
        float scaleX = (float) sourceWidth / outWidth;
        for (int ox = 0; ox < outWidth; ox++) {
            double real = UpsampleArgmax.sourceIndex(scaleX, ox);
            x0[ox] = (int) real;
            wx1[ox] = UpsampleArgmax.upperWeight(real, x0[ox]);
        }
        int[] firstColumn = new int[sourceWidth + 1];
        for (int x = 0, ox = 0; x <= sourceWidth; x++) {
            while (ox < outWidth && x0[ox] < x) {
                ox++;
            }
            firstColumn[x] = ox;
        }
        return new SourceColumns(x0, wx1, firstColumn);
    }
}
