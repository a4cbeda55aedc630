package dev.sapienseg.bench;

import java.nio.FloatBuffer;
import java.util.stream.IntStream;

/**
 * The baseline the fused kernel replaces, as PyTorch's {@code F.interpolate(...).argmax(1)} does it: interpolate
 * every class plane to full size (28 × H × W floats), then take the argmax. Parallel like the fused kernel, so the
 * comparison is about the algorithm, not the threads.
 */
final class PlainUpsampleArgmax {

    private PlainUpsampleArgmax() {
    }

    static byte[] classMap(FloatBuffer logits, int channels, int h, int w, int outH, int outW) {
        float[][] planes = new float[channels][outH * outW];
        float scaleY = (float) h / outH;
        float scaleX = (float) w / outW;
        IntStream.range(0, channels * outH).parallel().forEach(task -> {
            int c = task / outH;
            int oy = task % outH;
            float sy = Math.max(0f, scaleY * (oy + 0.5f) - 0.5f);
            int y0 = (int) sy;
            int y1 = Math.min(y0 + 1, h - 1);
            float fy = sy - y0;
            int base = c * h * w;
            for (int ox = 0; ox < outW; ox++) {
                float sx = Math.max(0f, scaleX * (ox + 0.5f) - 0.5f);
                int x0 = (int) sx;
                int x1 = Math.min(x0 + 1, w - 1);
                float fx = sx - x0;
                float top = (1 - fx) * logits.get(base + y0 * w + x0) + fx * logits.get(base + y0 * w + x1);
                float bottom = (1 - fx) * logits.get(base + y1 * w + x0) + fx * logits.get(base + y1 * w + x1);
                planes[c][oy * outW + ox] = (1 - fy) * top + fy * bottom;
            }
        });
        byte[] out = new byte[outH * outW];
        IntStream.range(0, outH).parallel().forEach(oy -> {
            for (int i = oy * outW, end = i + outW; i < end; i++) {
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
