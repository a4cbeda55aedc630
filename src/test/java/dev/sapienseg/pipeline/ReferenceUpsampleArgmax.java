package dev.sapienseg.pipeline;

import java.util.stream.IntStream;

/**
 * The plain way, written independently of {@link UpsampleArgmax}: interpolate every class plane to full size the way
 * PyTorch's {@code F.interpolate(mode="bilinear", align_corners=False)} computes it (source coordinate
 * {@code max(0, (dst + 0.5) · in/out − 0.5)} with a float ratio, position and weight in double, weight stored as
 * float; 28 × H × W floats), then argmax
 * with the first index winning ties ({@code sigmoid > 0.3} for one channel). The parity tests' reference and the
 * benchmark's baseline (parallel over planes, so that a comparison measures the algorithm, not the threads).
 */
public final class ReferenceUpsampleArgmax {

    private ReferenceUpsampleArgmax() {
    }

    public static byte[] classMap(float[] logits, int channels, int h, int w, int outH, int outW) {
        float[][] planes = new float[channels][outH * outW];
        IntStream.range(0, channels * outH).parallel().forEach(task -> {
            int c = task / outH;
            int oy = task % outH;
            double sy = Math.max(0, ((float) h / outH) * (oy + 0.5) - 0.5);
            int y0 = (int) Math.floor(sy);
            int y1 = Math.min(y0 + 1, h - 1);
            float fy = (float) (sy - y0);
            int base = c * h * w;
            for (int ox = 0; ox < outW; ox++) {
                double sx = Math.max(0, ((float) w / outW) * (ox + 0.5) - 0.5);
                int x0 = (int) Math.floor(sx);
                int x1 = Math.min(x0 + 1, w - 1);
                float fx = (float) (sx - x0);
                float top = (1 - fx) * logits[base + y0 * w + x0] + fx * logits[base + y0 * w + x1];
                float bottom = (1 - fx) * logits[base + y1 * w + x0] + fx * logits[base + y1 * w + x1];
                planes[c][oy * outW + ox] = (1 - fy) * top + fy * bottom;
            }
        });
        byte[] out = new byte[outH * outW];
        IntStream.range(0, outH).parallel().forEach(oy -> {
            for (int i = oy * outW, end = i + outW; i < end; i++) {
                if (channels == 1) {
                    out[i] = (byte) (1.0 / (1.0 + Math.exp(-planes[0][i])) > 0.3 ? 1 : 0);
                    continue;
                }
                int best = 0;
                for (int c = 1; c < channels; c++) {
                    if (planes[c][i] > planes[best][i]) {
                        best = c;
                    }
                }
                out[i] = (byte) best;
            }
        });
        return out;
    }
}
