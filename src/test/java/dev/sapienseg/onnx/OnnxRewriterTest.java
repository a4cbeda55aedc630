package dev.sapienseg.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import ai.onnxruntime.OrtSession;
import dev.sapienseg.fixtures.FixtureModels;
import dev.sapienseg.fixtures.ModelFiles;
import dev.sapienseg.fixtures.OnnxGraphBuilder;
import dev.sapienseg.fixtures.OnnxGraphBuilder.Dim;
import dev.sapienseg.fixtures.OrtRuns;

/**
 * The faster form gives the logits ONNX Runtime gives for the published form, within float rounding (the same sums in
 * another order), for the tiny Sapiens stand-in and for single ConvTranspose nodes with bias, external data and names
 * that collide; what it must not touch stays as it is.
 */
class OnnxRewriterTest {

    @TempDir
    Path dir;

    @Test
    void tinySapiensGivesTheSameLogitsAndClassMap() throws Exception {
        Path published = ModelFiles.write(dir, "tiny.onnx", FixtureModels.tinyVit());
        Path fast = dir.resolve("tiny.fast.onnx");
        OnnxRewriter.Result result = OnnxRewriter.rewrite(published, fast, Map.of("sapiens.fast-forms", "test"));
        assertEquals(new OnnxRewriter.Result(3, 3), result, "the decode head's 3 deconvolutions, their weights gone");
        assertFalse(Files.readString(fast, java.nio.charset.StandardCharsets.ISO_8859_1).contains("ConvTranspose"));

        long[] shape = {2, 3, FixtureModels.HEIGHT, FixtureModels.WIDTH};
        float[] input = OrtRuns.random(shape, 7);
        float[] before = OrtRuns.run(published, input, shape);
        OrtRuns.Difference d = OrtRuns.compare(before, OrtRuns.run(fast, input, shape), 2, 28);
        assertTrue(d.relative() <= 1e-5, d.toString());
        assertEquals(d.pixels(), d.agreeing(), "every pixel's class is the published form's: " + d);
        try (OrtSession session = ai.onnxruntime.OrtEnvironment.getEnvironment().createSession(fast.toString(),
                new OrtSession.SessionOptions())) {
            assertEquals("test", session.getMetadata().getCustomMetadata().get("sapiens.fast-forms"));
        }
    }

    @Test
    void biasAndOddSizesAndExternalDataAndTakenNames() throws Exception {
        // 5 input channels, 3 output channels, a 7x9 map: every border case of the phases' one-sided padding.
        OnnxGraphBuilder g = new OnnxGraphBuilder("deconv").opset(17)
                .input("x", OnnxGraphBuilder.FLOAT, Dim.dynamic("batch"), Dim.of(5), Dim.of(7), Dim.of(9))
                .output("y", OnnxGraphBuilder.FLOAT, Dim.dynamic("batch"), Dim.of(3), Dim.of(14), Dim.of(18));
        String w = g.floats("w", OrtRuns.random(new long[] {5, 3, 4, 4}, 1), 5, 3, 4, 4);
        String b = g.floats("b", OrtRuns.random(new long[] {3}, 2), 3);
        g.node("Relu", "y_node_phase00", List.of("x")); // the name the rewrite would pick first
        g.node("ConvTranspose", "y", List.of("y_node_phase00", w, b), "kernel_shape", new long[] {4, 4},
                "strides", new long[] {2, 2}, "pads", new long[] {1, 1, 1, 1});
        OnnxGraphBuilder.ExternalDataModel external = g.buildWithExternalData("deconv.data");
        Path published = ModelFiles.write(dir, "deconv.onnx", external.model());
        Files.write(dir.resolve("deconv.data"), external.data());
        Path fast = dir.resolve("deconv.fast.onnx");
        assertEquals(1, OnnxRewriter.rewrite(published, fast, Map.of()).rewritten());

        long[] shape = {2, 5, 7, 9};
        float[] input = OrtRuns.random(shape, 3);
        assertClose(OrtRuns.run(published, input, shape), OrtRuns.run(fast, input, shape), 1e-6);
    }

    @Test
    void leavesWhatIsNotSapiensUpsamplingAsItIs() throws Exception {
        for (long[] pads : List.of(new long[] {0, 0, 0, 0}, new long[] {1, 1, 1, 1})) {
            boolean stride2 = pads[0] == 0;
            OnnxGraphBuilder g = new OnnxGraphBuilder("other").opset(17)
                    .input("x", OnnxGraphBuilder.FLOAT, Dim.of(1), Dim.of(2), Dim.of(4), Dim.of(4))
                    .output("y", OnnxGraphBuilder.FLOAT, Dim.of(1), Dim.of(2), Dim.dynamic("h"), Dim.dynamic("w"));
            String w = g.floats("w", OrtRuns.random(new long[] {2, 2, 4, 4}, 4), 2, 2, 4, 4);
            g.node("ConvTranspose", "y", List.of("x", w), "kernel_shape", new long[] {4, 4},
                    "strides", stride2 ? new long[] {2, 2} : new long[] {1, 1}, "pads", pads);
            Path published = ModelFiles.write(dir, "other.onnx", g.build());
            Path fast = dir.resolve("other.fast.onnx");
            assertEquals(new OnnxRewriter.Result(0, 0), OnnxRewriter.rewrite(published, fast, Map.of()));
            assertFalse(Files.exists(fast), "nothing written when nothing is rewritten");
        }
    }

    @Test
    void leavesAWeightACallerMayReplace() throws Exception {
        // Before IR 4 an initializer listed among the graph's inputs is only a default: the caller may feed another.
        OnnxGraphBuilder g = new OnnxGraphBuilder("overridable").opset(17)
                .input("x", OnnxGraphBuilder.FLOAT, Dim.of(1), Dim.of(2), Dim.of(4), Dim.of(4))
                .output("y", OnnxGraphBuilder.FLOAT, Dim.of(1), Dim.of(2), Dim.of(8), Dim.of(8));
        String w = g.floats("w", OrtRuns.random(new long[] {2, 2, 4, 4}, 4), 2, 2, 4, 4);
        g.input(w, OnnxGraphBuilder.FLOAT, Dim.of(2), Dim.of(2), Dim.of(4), Dim.of(4));
        g.node("ConvTranspose", "y", List.of("x", w), "kernel_shape", new long[] {4, 4},
                "strides", new long[] {2, 2}, "pads", new long[] {1, 1, 1, 1});
        Path published = ModelFiles.write(dir, "overridable.onnx", g.build());
        assertEquals(new OnnxRewriter.Result(0, 0),
                OnnxRewriter.rewrite(published, dir.resolve("overridable.fast.onnx"), Map.of()));
    }

    @Test
    void keepsAWeightAnotherNodeReadsAndRefusesOldOpsets() throws Exception {
        for (int opset : new int[] {17, 10}) {
            OnnxGraphBuilder g = new OnnxGraphBuilder("shared").opset(opset)
                    .input("x", OnnxGraphBuilder.FLOAT, Dim.of(1), Dim.of(2), Dim.of(4), Dim.of(4))
                    .output("y", OnnxGraphBuilder.FLOAT, Dim.of(1), Dim.of(2), Dim.of(8), Dim.of(8))
                    .output("z", OnnxGraphBuilder.FLOAT, Dim.of(2), Dim.of(2), Dim.of(4), Dim.of(4));
            String w = g.floats("w", OrtRuns.random(new long[] {2, 2, 4, 4}, 5), 2, 2, 4, 4);
            g.node("ConvTranspose", "y", List.of("x", w), "kernel_shape", new long[] {4, 4},
                    "strides", new long[] {2, 2}, "pads", new long[] {1, 1, 1, 1});
            g.node("Neg", "z", List.of(w));
            Path published = ModelFiles.write(dir, "shared.onnx", g.build());
            Path fast = dir.resolve("shared.fast.onnx");
            OnnxRewriter.Result result = OnnxRewriter.rewrite(published, fast, Map.of());
            if (opset < OnnxRewriter.MIN_OPSET) {
                assertEquals(new OnnxRewriter.Result(0, 0), result, "DepthToSpace's DCR mode needs opset 11");
                continue;
            }
            assertEquals(new OnnxRewriter.Result(1, 0), result);
            long[] shape = {1, 2, 4, 4};
            float[] input = OrtRuns.random(shape, 6);
            assertClose(OrtRuns.run(published, input, shape), OrtRuns.run(fast, input, shape), 1e-6);
        }
    }

    @Test
    void movesElementsOfAnyWidthTheSameWay() {
        int cin = 3;
        int cout = 2;
        byte[] wide = new byte[cin * cout * 16 * 4];
        byte[] narrow = new byte[cin * cout * 16 * 2];
        for (int e = 0; e < cin * cout * 16; e++) { // element e holds its own index
            ByteBuffer.wrap(wide, e * 4, 4).putInt(e);
            ByteBuffer.wrap(narrow, e * 2, 2).putShort((short) e);
        }
        for (int a = 0; a < 2; a++) {
            for (int b = 0; b < 2; b++) {
                ByteBuffer fromWide = ByteBuffer.wrap(SubpixelDeconv.phaseKernel(wide, cin, cout, 4, a, b));
                ByteBuffer fromNarrow = ByteBuffer.wrap(SubpixelDeconv.phaseKernel(narrow, cin, cout, 2, a, b));
                int[] w = new int[cout * cin * 4];
                int[] n = new int[w.length];
                for (int i = 0; i < w.length; i++) {
                    w[i] = fromWide.getInt();
                    n[i] = fromNarrow.getShort();
                }
                assertArrayEquals(w, n);
                // Phase (1, 1) of output 0, input 0 reads taps (2, 0) of rows and columns: w[0][0][2|0][2|0].
                if (a == 1 && b == 1) {
                    assertArrayEquals(new int[] {10, 8, 2, 0}, java.util.Arrays.copyOf(w, 4));
                }
            }
        }
    }

    private static void assertClose(float[] expected, float[] actual, double relative) {
        OrtRuns.Difference d = OrtRuns.compare(expected, actual, 1, 1);
        assertTrue(d.relative() <= relative, d.toString());
    }
}
