package dev.sapienseg.model;

/** Per-channel mean and std (RGB order, 0..255 scale) applied as {@code (x - mean) / std}. */
public enum Normalization {
    /** Sapiens-Lite demo values (the default). */
    LITE(new float[] {123.5f, 116.5f, 103.5f}, new float[] {58.5f, 57.0f, 57.5f}),
    /** Training config and the onnx-community exports: ImageNet statistics on a 0..255 scale. */
    IMAGENET(new float[] {123.675f, 116.28f, 103.53f}, new float[] {58.395f, 57.12f, 57.375f});

    private final float[] mean;
    private final float[] std;

    Normalization(float[] mean, float[] std) {
        this.mean = mean;
        this.std = std;
    }

    /**
     * The normalised value of every 8-bit level per RGB channel, computed in float32 as PyTorch does; the
     * preprocessing loop is then a table lookup.
     */
    public float[][] lookupTables() {
        float[][] tables = new float[3][256];
        for (int c = 0; c < 3; c++) {
            for (int v = 0; v < 256; v++) {
                tables[c][v] = ((float) v - mean[c]) / std[c];
            }
        }
        return tables;
    }

    public float[] mean() {
        return mean.clone();
    }

    public float[] std() {
        return std.clone();
    }
}
