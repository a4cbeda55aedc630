package dev.sapienseg.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The fused kernel against PyTorch itself ({@code F.interpolate(bilinear, align_corners=False)} then argmax, as
 * Sapiens-Lite's {@code vis_seg.py} does), on the same logits. .ci/run installs Debian's python3-torch for this.
 */
class TorchParityTest {

    static final String PYTHON = System.getProperty("sapiens.test.torch-python", "/usr/bin/python3");
    static final Path SCRIPT = Path.of("src/test/python/torch_upsample_argmax.py");

    @TempDir
    Path dir;

    private byte[] torch(float[] logits, int c, int h, int w, int outH, int outW) throws Exception {
        return python(logits, "parity", c, h, w, outH, outW);
    }

    /** Runs the reference script's {@code mode} on {@code logits}; the arguments after it, then the output file. */
    private byte[] python(float[] logits, String mode, Object... arguments) throws Exception {
        ByteBuffer raw = ByteBuffer.allocate(logits.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        raw.asFloatBuffer().put(logits);
        Path in = dir.resolve("logits.bin");
        Path out = dir.resolve("out.bin");
        Files.write(in, raw.array());
        java.util.List<String> command = new java.util.ArrayList<>(java.util.List.of(PYTHON, SCRIPT.toString(), mode,
                in.toString()));
        for (Object argument : arguments) {
            command.add(String.valueOf(argument));
        }
        command.add(out.toString());
        Process python = new ProcessBuilder(command).redirectErrorStream(true).start();
        String log = new String(python.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(python.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, python.exitValue(), log);
        return Files.readAllBytes(out);
    }

    @ParameterizedTest(name = "{0} classes {1}x{2} -> {3}x{4}, smooth={5}")
    @CsvSource({
            "28, 512, 384, 1080, 1920, true",
            "28, 512, 384, 1080, 1920, false",
            "28, 512, 384, 333, 250, false",
            "28, 512, 384, 1, 1, false",
            "28, 512, 384, 1, 777, false",
            "28, 512, 384, 2049, 1537, true",
            "1, 512, 384, 641, 479, true",
            "28, 7, 5, 100, 3, false"
    })
    void agreesWithPytorch(int c, int h, int w, int outH, int outW, boolean smooth) throws Exception {
        Random random = new Random(c * 7919L + outH * 31L + outW);
        float[] logits = new float[c * h * w];
        for (int k = 0; k < c; k++) {
            double fx = 0.01 + random.nextDouble() * 0.05;
            double fy = 0.01 + random.nextDouble() * 0.05;
            double phase = random.nextDouble() * 6;
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    logits[(k * h + y) * w + x] = smooth
                            ? (float) (4 * Math.sin(fx * x + phase) * Math.cos(fy * y - phase) + random.nextGaussian() * 0.05)
                            : (float) random.nextGaussian();
                }
            }
        }
        byte[] expected = torch(logits, c, h, w, outH, outW);
        byte[] actual = UpsampleArgmax.classMap(new Logits(FloatBuffer.wrap(logits), 0, c, h, w), outH, outW);
        assertEquals(expected.length, actual.length);
        int differ = 0;
        for (int i = 0; i < expected.length; i++) {
            if (expected[i] == actual[i]) {
                continue;
            }
            differ++;
            // Allowed only where the two classes tie to within float rounding (the spec's one exception).
            int oy = i / outW;
            int ox = i % outW;
            double ours = exactScore(logits, c, h, w, outH, outW, actual[i], oy, ox);
            double theirs = exactScore(logits, c, h, w, outH, outW, expected[i], oy, ox);
            assertTrue(Math.abs(ours - theirs) <= 1e-5 * Math.max(1, Math.abs(theirs)),
                    "pixel " + ox + "," + oy + ": class " + actual[i] + " (" + ours + ") vs PyTorch's " + expected[i]
                            + " (" + theirs + ") is not a tie");
        }
        assertTrue(differ <= expected.length / 100_000, differ + " of " + expected.length + " pixels differ");
    }

    /** One class's interpolated score at one output pixel in double arithmetic, at PyTorch's sample position. */
    static double exactScore(float[] logits, int c, int h, int w, int outH, int outW, int cls, int oy, int ox) {
        int channel = c == 1 ? 0 : cls;
        double sy = Math.max(0, (float) h / outH * (oy + 0.5) - 0.5);
        double sx = Math.max(0, (float) w / outW * (ox + 0.5) - 0.5);
        int y0 = (int) sy;
        int x0 = (int) sx;
        int y1 = Math.min(y0 + 1, h - 1);
        int x1 = Math.min(x0 + 1, w - 1);
        double fy = sy - y0;
        double fx = sx - x0;
        int base = channel * h * w;
        double v = (1 - fy) * ((1 - fx) * logits[base + y0 * w + x0] + fx * logits[base + y0 * w + x1])
                + fy * ((1 - fx) * logits[base + y1 * w + x0] + fx * logits[base + y1 * w + x1]);
        return v;
    }

    /**
     * The soft alpha against PyTorch's softmax of the same upsampled logits: within 1 on every pixel (float against
     * double sums at a rounding boundary), and the shortcut's cells, all 0 or all 255, exactly.
     */
    @ParameterizedTest(name = "{0} classes -> {3}x{4}, selection {5}")
    @CsvSource({
            "28, 512, 384, 1080, 1920, '2,3,23', true",
            "28, 512, 384, 333, 250, '0', false",
            "28, 64, 48, 777, 1001, '1,5,9,13,17,21,25', true",
            "1, 512, 384, 641, 479, '1', true",
            "1, 64, 48, 100, 80, '0', false"
    })
    void softAlphaAgreesWithPytorch(int c, int h, int w, int outH, int outW, String ids, boolean smooth)
            throws Exception {
        Random random = new Random(c * 31L + outH);
        float[] logits = new float[c * h * w];
        for (int i = 0; i < logits.length; i++) {
            int x = i % w;
            int y = (i / w) % h;
            int k = i / (w * h);
            // smooth: bands of columns, each with a clear winner, and soft borders between them
            logits[i] = smooth ? (float) (2 * Math.sin(0.05 * x + k) * Math.cos(0.04 * y - k)
                    + (c == 1 ? 10 * Math.sin(0.1 * x) : k == x * c / w ? 12 : 0) + random.nextGaussian() * 0.1)
                    : (float) random.nextGaussian() * 3;
        }
        boolean[] selected = new boolean[Math.max(2, c)];
        for (String id : ids.split(",")) {
            selected[Integer.parseInt(id)] = true;
        }
        byte[] expected = python(logits, "alpha", c, h, w, outH, outW, ids);
        byte[] actual = SoftAlpha.alpha(new Logits(FloatBuffer.wrap(logits), 0, c, h, w), outH, outW, selected);
        assertEquals(expected.length, actual.length);
        int off = 0;
        int[] seen = new int[256];
        for (int i = 0; i < expected.length; i++) {
            int d = Math.abs((expected[i] & 0xFF) - (actual[i] & 0xFF));
            assertTrue(d <= 1, "pixel " + i + ": " + (actual[i] & 0xFF) + " vs PyTorch's " + (expected[i] & 0xFF));
            off += d;
            seen[actual[i] & 0xFF]++;
        }
        assertTrue(off <= expected.length / 1000, off + " of " + expected.length + " pixels off by one");
        assertTrue(seen[0] > 0 && seen[255] > 0 || !smooth, "both ends of the range occur");
    }
}
