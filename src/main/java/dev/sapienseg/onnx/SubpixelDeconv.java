package dev.sapienseg.onnx;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.UnaryOperator;

import dev.sapienseg.onnx.OnnxNode.NewAttribute;

/**
 * Sapiens' decode-head upsampling (ConvTranspose, kernel 4×4, stride 2, padding 1) as four 2×2 convolutions, one per
 * output phase, concatenated and interleaved by DepthToSpace (DCR): the same sums in another order, as
 * {@code deploy/export}'s {@code deconv_to_subpixel} writes them. Output pixel (2m+a, 2n+b) of the transposed
 * convolution reads input rows m−1..m through kernel taps 3, 1 (a = 0) or rows m..m+1 through taps 2, 0 (a = 1), and
 * likewise for columns; so each phase is an ordinary convolution with a 2×2 slice of the kernel and one-sided padding.
 * ONNX Runtime's CPU runs those in its blocked convolution kernels, without the col2im buffer its ConvTranspose needs
 * (2.4 GB for Sapiens-0.3B's last one), at the same multiply-add count. The weights are only moved, never computed,
 * so any floating-point element type is rewritten the same way.
 */
public final class SubpixelDeconv {

    /** Kernel taps per output phase (0 even, 1 odd), over the two input rows (or columns) it reads. */
    private static final int[][] TAPS = {{3, 1}, {2, 0}};
    /** Padding before and after per phase: even outputs read m−1, m; odd ones m, m+1. */
    private static final long[][] PADS = {{1, 0}, {0, 1}};

    /** What replaces one ConvTranspose: its nodes in order and the initializers they read. */
    public record Replacement(List<byte[]> nodes, List<byte[]> initializers) {
    }

    private SubpixelDeconv() {
    }

    /**
     * Whether {@code node} is the upsampling this rewrite knows: kernel 4×4, stride 2, padding 1, one group, no
     * dilation, output padding, output shape or auto-padding, in the default domain, weights in a 4-D floating-point
     * initializer of shape (Cin, Cout, 4, 4) that a caller cannot replace (not a graph input).
     */
    public static boolean applies(OnnxNode node, Optional<Initializer> weight, boolean weightIsGraphInput) {
        if (!node.opType().equals("ConvTranspose") || !(node.domain().isEmpty() || node.domain().equals("ai.onnx"))
                || node.inputs().size() < 2 || node.outputs().size() != 1 || weight.isEmpty() || weightIsGraphInput) {
            return false;
        }
        Initializer w = weight.get();
        List<Long> zeros = List.of(0L, 0L);
        return w.dims().size() == 4 && w.dims().get(2) == 4 && w.dims().get(3) == 4 && w.elementBytes() > 0
                && w.file().isPresent() && node.ints("kernel_shape", List.of(4L, 4L)).equals(List.of(4L, 4L))
                && node.ints("strides", List.of(1L, 1L)).equals(List.of(2L, 2L))
                && node.ints("pads", List.of(0L, 0L, 0L, 0L)).equals(List.of(1L, 1L, 1L, 1L))
                && node.integer("group", 1) == 1
                && node.ints("dilations", List.of(1L, 1L)).equals(List.of(1L, 1L))
                && (node.ints("output_padding", zeros).equals(zeros) || node.ints("output_padding", zeros).isEmpty())
                && !node.attributes().containsKey("output_shape")
                && node.text("auto_pad", "NOTSET").equals("NOTSET");
    }

    /**
     * The four phase convolutions, their Concat and the DepthToSpace that writes the ConvTranspose's output.
     *
     * @param values the weight's bytes, (Cin, Cout, 4, 4) in row-major order
     * @param unique makes a name unused in the graph from a wanted one
     */
    public static Replacement rewrite(OnnxNode node, Initializer weight, byte[] values, UnaryOperator<String> unique) {
        int cin = Math.toIntExact(weight.dims().get(0));
        int cout = Math.toIntExact(weight.dims().get(1));
        String base = (node.name().isEmpty() ? node.outputs().get(0) : node.name()).replace('/', '_');
        Optional<String> bias = node.inputs().size() > 2 && !node.inputs().get(2).isEmpty()
                ? Optional.of(node.inputs().get(2)) : Optional.empty();
        List<byte[]> nodes = new ArrayList<>();
        List<byte[]> initializers = new ArrayList<>();
        List<String> phases = new ArrayList<>();
        for (int a = 0; a < 2; a++) {
            for (int b = 0; b < 2; b++) {
                String kernel = unique.apply(base + "_phase" + a + b + "_weight");
                initializers.add(Initializer.write(kernel, weight.dataType(), new long[] {cout, cin, 2, 2},
                        phaseKernel(values, cin, cout, weight.elementBytes(), a, b)));
                String out = unique.apply(base + "_phase" + a + b);
                List<String> inputs = new ArrayList<>(List.of(node.inputs().get(0), kernel));
                bias.ifPresent(inputs::add);
                nodes.add(OnnxNode.write("Conv", inputs, out, out, List.of(
                        new NewAttribute("kernel_shape", new long[] {2, 2}),
                        new NewAttribute("strides", new long[] {1, 1}),
                        new NewAttribute("pads", new long[] {PADS[a][0], PADS[b][0], PADS[a][1], PADS[b][1]}))));
                phases.add(out);
            }
        }
        String concat = unique.apply(base + "_phases");
        nodes.add(OnnxNode.write("Concat", phases, concat, concat, List.of(new NewAttribute("axis", 1L))));
        String interleave = unique.apply(base + "_interleave");
        nodes.add(OnnxNode.write("DepthToSpace", List.of(concat), node.outputs().get(0), interleave, List.of(new NewAttribute("blocksize", 2L), new NewAttribute("mode", "DCR"))));
        return new Replacement(nodes, initializers);
    }

    /**
     * Phase (a, b)'s Conv weights (Cout, Cin, 2, 2) from the ConvTranspose's (Cin, Cout, 4, 4):
     * {@code k[o][i][r][c] = w[i][o][TAPS[a][r]][TAPS[b][c]]}, each element moved as {@code elementBytes} bytes.
     */
    static byte[] phaseKernel(byte[] w, int cin, int cout, int elementBytes, int a, int b) {
        byte[] kernel = new byte[cout * cin * 4 * elementBytes];
        int at = 0;
        for (int o = 0; o < cout; o++) {
            for (int i = 0; i < cin; i++) {
                for (int r = 0; r < 2; r++) {
                    for (int c = 0; c < 2; c++) {
                        long source = (((long) i * cout + o) * 16 + TAPS[a][r] * 4 + TAPS[b][c]) * elementBytes;
                        System.arraycopy(w, (int) source, kernel, at, elementBytes);
                        at += elementBytes;
                    }
                }
            }
        }
        return kernel;
    }
}
