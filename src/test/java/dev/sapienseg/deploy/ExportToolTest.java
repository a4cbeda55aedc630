package dev.sapienseg.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.sapienseg.model.ModelContract;
import dev.sapienseg.model.ModelSettings;
import dev.sapienseg.model.SegmentationModel;

/**
 * The export tool ({@code deploy/export/sapiens_export.py}) end to end: a small model of the Sapiens architecture is
 * built and traced to TorchScript ({@code src/test/python/tiny_sapiens.py}, standing in for an official
 * {@code *_torchscript.pt2}), exported to ONNX in fp32 (weights in external data) and fp16, loaded with the service's
 * own loading code (contract check, warm-up), and run with ONNX Runtime Java on the seeded input the tool saved;
 * the logits are compared with the TorchScript logits the tool saved. Needs {@code /usr/bin/python3} with Debian's
 * {@code python3-torch} and {@code python3-onnx}: {@code .ci/run} installs them.
 */
public class ExportToolTest {

    public static final String PYTHON = System.getProperty("sapiens.test.torch-python", "/usr/bin/python3");
    static final Path GENERATOR = Path.of("src/test/python/tiny_sapiens.py");
    static final Path EXPORTER = Path.of("deploy/export/sapiens_export.py");
    static final ModelContract SAPIENS = new ModelContract("input", "logits", 0, 1024, 768, 28, 512, 384);

    @TempDir
    static Path dir;
    static Path torchscript;

    @BeforeAll
    static void tinyTorchScript() throws Exception {
        torchscript = dir.resolve("sapiens_tiny_torchscript.pt2");
        String log = python(GENERATOR.toString(), torchscript.toString(), "--threads", "2");
        assertTrue(Files.size(torchscript) > 100_000, log);
        // The stand-in must give non-degenerate logits, or argmax agreement would prove nothing.
        Matcher classes = Pattern.compile("\"classes_present\": (\\d+)").matcher(log);
        assertTrue(classes.find() && Integer.parseInt(classes.group(1)) >= 20, log);
    }

    @Test
    void fp32WithExternalDataMatchesTorchScript() throws Exception {
        Path out = dir.resolve("fp32/sapiens-tiny-fp32.onnx");
        Path ref = dir.resolve("fp32/reference");
        String log = python(EXPORTER.toString(), torchscript.toString(), out.toString(), "--external-data", "always",
                "--reference-dir", ref.toString(), "--threads", "2");
        assertTrue(log.contains("onnx.checker: OK (full check); output logits: FLOAT ['batch', 28, 512, 384]"), log);
        assertTrue(log.contains("NOT CHECKED") || log.contains("OK: the ONNX model matches TorchScript"), log);
        // The faster forms are the default: no ConvTranspose left, each one now four 2x2 Convs and a DepthToSpace.
        assertTrue(log.contains("rewrote 3 ConvTranspose (4x4, stride 2) as 2x2 Conv phases + DepthToSpace"), log);
        Map<String, Integer> ops = opTypes(out);
        assertEquals(null, ops.get("ConvTranspose"), ops.toString());
        assertEquals(3, ops.get("DepthToSpace"), ops.toString());

        Path data = dir.resolve("fp32/sapiens-tiny-fp32.onnx_data");
        assertTrue(Files.isRegularFile(data), "no external data file beside the model\n" + log);
        long weights = 4L * 166_060; // the tiny model's parameter count, in float32
        assertTrue(Files.size(data) >= weights * 9 / 10, Files.size(data) + " bytes of external data");
        assertTrue(Files.size(out) < 100_000, "the .onnx itself should hold the graph only: " + Files.size(out) + " bytes");

        // Model provisioning finds the weights file in the exported protobuf, as it must to download it beside the model.
        assertEquals(java.util.Set.of("sapiens-tiny-fp32.onnx_data"), dev.sapienseg.provisioning.ExternalDataFiles.of(out));

        Stats stats = runAndCompare(out, ref, "sapiens-tiny-fp32");
        assertTrue(stats.maxAbsDiff <= 1e-3, stats.toString());
        assertTrue(stats.agreementPercent >= 99.9, stats.toString());
    }

    @Test
    void fp16KeepsFloat32InputsOutputsAndLayerNormAndRunsOnCpu() throws Exception {
        Path out = dir.resolve("fp16/sapiens-tiny-fp16.onnx");
        Path ref = dir.resolve("fp16/reference");
        String log = python(EXPORTER.toString(), torchscript.toString(), out.toString(), "--precision", "fp16",
                "--external-data", "never", "--reference-dir", ref.toString(), "--threads", "2");
        // 2 blocks × 2 LayerNorms + the final one, all kept in float32.
        assertTrue(log.contains("computed in float32: 5 LayerNormalization"), log);
        assertTrue(log.contains("output logits: FLOAT ['batch', 28, 512, 384]"), log);
        assertFalse(Files.exists(dir.resolve("fp16/sapiens-tiny-fp16.onnx_data")), log);
        // Half-size weights, in the one file: well under the float32 size.
        long weights = 4L * 166_060;
        assertTrue(Files.size(out) < weights * 7 / 10 && Files.size(out) > weights * 4 / 10, Files.size(out) + " bytes");

        Stats stats = runAndCompare(out, ref, "sapiens-tiny-fp16");
        // Logits reach about ±23 here (standard deviation 1.3); half precision costs a few hundredths at most (measured:
        // max 0.024, argmax agreement 99.89% — the disagreements are near-ties of this random model's noisy logits).
        assertTrue(stats.maxAbsDiff <= 0.1, stats.toString());
        assertTrue(stats.agreementPercent >= 99.5, stats.toString());
    }

    @Test
    void fastFormsOfAnExistingOnnxExportComputeTheSameLogits() throws Exception {
        // As torch.onnx.export writes it (ConvTranspose), checked against TorchScript...
        Path plain = dir.resolve("plain/sapiens-tiny-plain.onnx");
        Path ref = dir.resolve("plain/reference");
        String log = python(EXPORTER.toString(), torchscript.toString(), plain.toString(), "--no-fast-forms",
                "--reference-dir", ref.toString(), "--threads", "2");
        assertFalse(log.contains("rewrote"), log);
        assertEquals(3, opTypes(plain).get("ConvTranspose"));
        Stats original = runAndCompare(plain, ref, "sapiens-tiny-plain");
        assertTrue(original.maxAbsDiff <= 1e-3, original.toString());
        // ...then rewritten as an ONNX file (what a user does with onnx-community's model.onnx): the same logits.
        Path fast = dir.resolve("plain/sapiens-tiny-fast.onnx");
        log = python(EXPORTER.toString(), plain.toString(), fast.toString());
        assertTrue(log.contains("rewrote 3 ConvTranspose"), log);
        assertTrue(log.contains("not checked against TorchScript (the input is ONNX)"), log);
        assertEquals(null, opTypes(fast).get("ConvTranspose"));
        Stats rewritten = runAndCompare(fast, ref, "sapiens-tiny-fast");
        assertTrue(Math.abs(rewritten.maxAbsDiff - original.maxAbsDiff) <= 1e-4, original + " vs " + rewritten);
        assertEquals(original.agreementPercent, rewritten.agreementPercent, 0.01, original + " vs " + rewritten);
    }

    @Test
    void int8QuantizesTheProjectionsAndStaysCloseToTorchScript() throws Exception {
        Path wide = wideTorchScript();
        Path out = dir.resolve("int8/sapiens-wide-int8.onnx");
        Path ref = dir.resolve("int8/reference");
        String log = python(EXPORTER.toString(), wide.toString(), out.toString(), "--precision", "int8",
                "--reference-dir", ref.toString(), "--threads", "2");
        // 2 blocks x (qkv, proj, fc1, fc2); the attention products have no weights and stay float32.
        assertTrue(log.contains("int8: 8 MatMuls quantized dynamically"), log);
        Map<String, Integer> ops = opTypes(out);
        assertEquals(8, ops.get("MatMulInteger"), ops.toString());
        assertEquals(8, ops.get("DynamicQuantizeLinear"), ops.toString());
        assertTrue(log.contains("int8: batch fixed to 1"), log);
        Stats stats = runAndCompare(out, ref, "sapiens-wide-int8");
        // Measured: max abs diff 0.38 (logits reach about +-20), mean 0.012, argmax agreement 98.6 %.
        assertTrue(stats.agreementPercent >= 95, stats.toString());
        assertTrue(stats.maxAbsDiff > 1e-4, "quantization must change something: " + stats);
    }

    private static Path wide;

    /** Wide enough that every projection has at least 16384 weights (the tool leaves smaller MatMuls in float32). */
    private static synchronized Path wideTorchScript() throws Exception {
        if (wide == null) {
            Path file = Files.createDirectories(dir.resolve("wide")).resolve("sapiens_wide_torchscript.pt2");
            python(GENERATOR.toString(), file.toString(), "--embed", "128", "--heads", "4", "--threads", "2");
            wide = file;
        }
        return wide;
    }

    /**
     * q4: the projections as MatMulNBits (4-bit blocks of 32 with scales and zero points), run by the service's ONNX
     * Runtime with a dynamic batch (its int8 compute quantizes per row, so a picture does not depend on its batch-mates).
     */
    @Test
    void q4StoresTheProjectionsInFourBitsAndStaysCloseToTorchScript() throws Exception {
        Path out = dir.resolve("q4/sapiens-wide-q4.onnx");
        Path ref = dir.resolve("q4/reference");
        String log = python(EXPORTER.toString(), wideTorchScript().toString(), out.toString(), "--precision", "q4",
                "--reference-dir", ref.toString(), "--threads", "2");
        assertTrue(log.contains("q4: 8 MatMuls as MatMulNBits (4-bit, blocks of 32, accuracy level 4"), log);
        Map<String, Integer> ops = opTypes(out);
        assertEquals(8, ops.get("MatMulNBits"), ops.toString());
        assertEquals(4, ops.getOrDefault("MatMul", 0), "the attention products stay float: " + ops);
        Stats stats = runAndCompare(out, ref, "sapiens-wide-q4");
        assertTrue(stats.agreementPercent >= 90, stats.toString());
        assertTrue(stats.maxAbsDiff > 1e-3, "quantization must change something: " + stats);
    }

    /** Node counts per operator type of an ONNX file (read with the onnx package, weights not loaded). */
    static Map<String, Integer> opTypes(Path model) throws Exception {
        String out = python("-c", "import collections, json, sys, onnx; m = onnx.load(sys.argv[1], load_external_data=False);"
                + " print(json.dumps(collections.Counter(n.op_type for n in m.graph.node)))", model.toString());
        Map<String, Integer> counts = new java.util.TreeMap<>();
        Matcher m = Pattern.compile("\"(\\w+)\": (\\d+)").matcher(out);
        while (m.find()) {
            counts.put(m.group(1), Integer.parseInt(m.group(2)));
        }
        return counts;
    }

    /**
     * Sapiens2: a TorchScript of its architecture (RMSNorm, grouped-query attention with rotary position embedding
     * computed in bfloat16 between casts, SwiGLU, storage tokens, a head to full resolution), traced as Sapiens2's own
     * tool traces it. The export computes the bfloat16 parts in float32 (ONNX Runtime's CPU provider cannot), gives
     * 29 classes at 1024x768, and the service serves it as the sapiens2 family; against the unchanged TorchScript the
     * logits differ only by bfloat16's rounding.
     */
    @Test
    void sapiens2TorchScriptWithBfloat16RopeExportsAndServes() throws Exception {
        Path sapiens2 = dir.resolve("sapiens2_tiny_torchscript.pt2");
        String made = python("src/test/python/tiny_sapiens2.py", sapiens2.toString(), "--threads", "2");
        assertTrue(made.contains("\"logits_shape\": [1, 29, 1024, 768]") && made.contains("\"rope_dtype\": \"bf16\""), made);
        Path out = dir.resolve("sapiens2/sapiens2-tiny.onnx");
        Path ref = dir.resolve("sapiens2/reference");
        String log = python(EXPORTER.toString(), sapiens2.toString(), out.toString(), "--reference-dir", ref.toString(),
                "--threads", "2");
        assertTrue(log.contains("bfloat16: ") && log.contains("now float32"), log);
        assertTrue(log.contains("onnx.checker: OK (full check); output logits: FLOAT ['batch', 29, 1024, 768]"), log);
        assertFalse(log.contains("will refuse this model"), log);
        Map<String, Integer> ops = opTypes(out);
        assertEquals(null, ops.get("ConvTranspose"), ops.toString());
        assertEquals(4, ops.get("DepthToSpace"), ops.toString());
        String types = python("-c", "import sys, onnx; m = onnx.load(sys.argv[1]); T = onnx.TensorProto;"
                + " bad = [n.name for n in m.graph.node for a in n.attribute if a.name == 'to' and a.i == T.BFLOAT16]"
                + " + [i.name for i in m.graph.initializer if i.data_type == T.BFLOAT16]; print('bfloat16 left:', len(bad))",
                out.toString());
        assertTrue(types.contains("bfloat16 left: 0"), types);

        ModelContract sapiens2Contract = new ModelContract("input", "logits", 0, 1024, 768, 29, 1024, 768);
        Stats stats = runAndCompare(out, ref, "sapiens2-tiny", sapiens2Contract);
        // bfloat16 rounds q, k, sin and cos to 8 bits of mantissa: measured 0.0100 max, 99.97 % agreement.
        assertTrue(stats.agreementPercent >= 99.5, stats.toString());
        assertTrue(stats.maxAbsDiff <= 0.05, stats.toString());
        try (SegmentationModel model = SegmentationModel.load(ModelSettings.cpu(out))) {
            assertEquals(dev.sapienseg.model.ModelFamily.SAPIENS2, model.contract().family());
        }

        // The same architecture with its rotary embedding in float32: the export itself is exact, so the difference
        // above is bfloat16's alone.
        Path exact = dir.resolve("sapiens2_fp32rope_torchscript.pt2");
        python("src/test/python/tiny_sapiens2.py", exact.toString(), "--rope-dtype", "fp32", "--threads", "2");
        Path exactOut = dir.resolve("sapiens2-fp32rope/sapiens2-fp32rope.onnx");
        Path exactRef = dir.resolve("sapiens2-fp32rope/reference");
        log = python(EXPORTER.toString(), exact.toString(), exactOut.toString(), "--reference-dir", exactRef.toString(),
                "--threads", "2");
        assertFalse(log.contains("bfloat16: "), log);
        Stats exactStats = runAndCompare(exactOut, exactRef, "sapiens2-fp32rope", sapiens2Contract);
        assertTrue(exactStats.maxAbsDiff <= 1e-3, exactStats.toString());
        assertTrue(exactStats.agreementPercent >= 99.9, exactStats.toString());
    }

    /** The foreground model (one sigmoid channel at half resolution) through the same tool, served as its family. */
    @Test
    void foregroundModelExportsAndServesAsItsFamily() throws Exception {
        Path foreground = dir.resolve("sapiens_foreground_tiny_torchscript.pt2");
        String made = python(GENERATOR.toString(), foreground.toString(), "--classes", "1", "--threads", "2");
        assertTrue(made.contains("\"logits_shape\": [1, 1, 512, 384]"), made);
        Path out = dir.resolve("foreground/sapiens-foreground-tiny.onnx");
        Path ref = dir.resolve("foreground/reference");
        String log = python(EXPORTER.toString(), foreground.toString(), out.toString(), "--reference-dir", ref.toString(),
                "--threads", "2");
        assertTrue(log.contains("model family: foreground"), log);
        assertTrue(log.contains("output logits: FLOAT ['batch', 1, 512, 384]"), log);
        Stats stats = runAndCompare(out, ref, "sapiens-foreground-tiny",
                new ModelContract("input", "logits", 0, 1024, 768, 1, 512, 384));
        assertTrue(stats.maxAbsDiff <= 1e-3, stats.toString());
        try (SegmentationModel model = SegmentationModel.load(ModelSettings.cpu(out))) {
            assertEquals(dev.sapienseg.model.ModelFamily.FOREGROUND, model.contract().family());
        }
    }

    /**
     * The tool's ONNX form of {@code aten::rms_norm} (Sapiens2's nn.RMSNorm; PyTorch's TorchScript exporter has none
     * below opset 23). Debian's PyTorch 1.13 has no aten::rms_norm, so {@code src/test/python/rms_norm_form.py} traces
     * an operator with its exact schema and exports it with the same form; ONNX Runtime must compute what PyTorch did,
     * with an eps and a weight, and with neither (eps = float32's epsilon).
     */
    @Test
    void rmsNormFormComputesWhatPyTorchComputes() throws Exception {
        Path out = dir.resolve("rms-norm");
        python("src/test/python/rms_norm_form.py", out.toString());
        Npy input = Npy.read(out.resolve("input.npy"));
        ai.onnxruntime.OrtEnvironment env = ai.onnxruntime.OrtEnvironment.getEnvironment();
        for (String name : List.of("eps", "default")) {
            Npy expected = Npy.read(out.resolve("expected_" + name + ".npy"));
            try (ai.onnxruntime.OrtSession session = env.createSession(out.resolve("rms_norm_" + name + ".onnx").toString());
                    ai.onnxruntime.OnnxTensor tensor = ai.onnxruntime.OnnxTensor.createTensor(env, input.data.duplicate(),
                            input.shape.stream().mapToLong(Long::longValue).toArray());
                    ai.onnxruntime.OrtSession.Result result = session.run(Map.of("input", tensor))) {
                FloatBuffer actual = ((ai.onnxruntime.OnnxTensor) result.get(0)).getFloatBuffer();
                assertEquals(expected.data.remaining(), actual.remaining(), name);
                for (int i = 0; i < actual.remaining(); i++) {
                    assertEquals(expected.data.get(i), actual.get(i), 1e-5 * Math.max(1, Math.abs(expected.data.get(i))),
                            name + " value " + i);
                }
            }
        }
    }

    @Test
    void refusesOpsetsBefore17() throws Exception {
        Process process = new ProcessBuilder(PYTHON, EXPORTER.toString(), torchscript.toString(),
                dir.resolve("old.onnx").toString(), "--opset", "16").redirectErrorStream(true).start();
        String log = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(60, TimeUnit.SECONDS));
        assertEquals(2, process.exitValue(), log);
        assertTrue(log.contains("opset 17 or later is required"), log);
        assertFalse(Files.exists(dir.resolve("old.onnx")));
    }

    record Stats(String model, double maxAbsDiff, double meanAbsDiff, double agreementPercent, double batchDrift) {
    }

    /**
     * Loads the export with the service's loader (contract check and warm-up), runs the saved reference input one
     * image alone and as a batch of 2, and compares both with the saved TorchScript logits.
     */
    private static Stats runAndCompare(Path onnx, Path ref, String name) throws Exception {
        return runAndCompare(onnx, ref, name, SAPIENS);
    }

    /** @param family the contract the export must have (float32 I/O, its classes and logits size, dynamic batch) */
    private static Stats runAndCompare(Path onnx, Path ref, String name, ModelContract family) throws Exception {
        Npy input = Npy.read(ref.resolve("input.npy"));
        Npy expected = Npy.read(ref.resolve("torchscript_logits.npy"));
        assertEquals(List.of(2L, 3L, 1024L, 768L), input.shape);
        assertEquals(List.of(2L, (long) family.classes(), (long) family.outputHeight(), (long) family.outputWidth()),
                expected.shape);

        try (SegmentationModel model = SegmentationModel.load(ModelSettings.cpu(onnx))) {
            ModelContract contract = model.contract();
            boolean single = contract.fixedBatch() == 1; // int8 exports: one picture per run
            assertEquals(single ? new ModelContract("input", "logits", 1, 1024, 768, family.classes(),
                    family.outputHeight(), family.outputWidth()) : family, contract);
            assertEquals(single ? 1 : Integer.MAX_VALUE, contract.maxBatch());
            assertEquals(name, model.name()); // sapiens.model metadata written by the tool
            int perImage = contract.outputFloatsPerImage();

            FloatBuffer one = SegmentationModel.directFloats(perImage);
            model.run(input.data, one, 1);
            FloatBuffer two = SegmentationModel.directFloats(2L * perImage);
            if (single) {
                model.run(input.data.slice(0, contract.inputFloatsPerImage()), two.slice(0, perImage), 1);
                model.run(input.data.slice(contract.inputFloatsPerImage(), contract.inputFloatsPerImage()),
                        two.slice(perImage, perImage), 1);
            } else {
                model.run(input.data, two, 2);
            }

            double max = 0;
            double sum = 0;
            long agree = 0;
            long pixels = 0;
            double drift = 0;
            int plane = contract.outputHeight() * contract.outputWidth();
            for (int image = 0; image < 2; image++) {
                for (int p = 0; p < plane; p++) {
                    int best = 0;
                    int bestRef = 0;
                    for (int c = 0; c < contract.classes(); c++) {
                        int i = image * perImage + c * plane + p;
                        float v = two.get(i);
                        float r = expected.data.get(i);
                        double d = Math.abs(v - r);
                        max = Math.max(max, d);
                        sum += d;
                        if (v > two.get(image * perImage + best * plane + p)) {
                            best = c;
                        }
                        if (r > expected.data.get(image * perImage + bestRef * plane + p)) {
                            bestRef = c;
                        }
                        if (image == 0) {
                            drift = Math.max(drift, Math.abs(v - one.get(i)));
                            max = Math.max(max, Math.abs(one.get(i) - r));
                        }
                    }
                    agree += best == bestRef ? 1 : 0;
                    pixels++;
                }
            }
            Stats stats = new Stats(name, max, sum / (2.0 * perImage), 100.0 * agree / pixels, drift);
            System.out.printf("%s vs TorchScript: max abs diff %.3g, mean abs diff %.3g, argmax agreement %.4f%%, "
                    + "batch-of-2 vs alone %.3g%n", name, stats.maxAbsDiff, stats.meanAbsDiff, stats.agreementPercent, drift);
            // The batch axis is really dynamic: the same image gives the same logits alone and in a batch of 2.
            assertTrue(drift <= 1e-4, stats.toString());
            return stats;
        }
    }

    private static String python(String... args) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(PYTHON);
        command.addAll(Arrays.asList(args));
        Process process;
        try {
            process = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new AssertionError(PYTHON + " is missing: install python3-torch and python3-onnx (bash .ci/run does)", e);
        }
        String log = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(300, TimeUnit.SECONDS), log);
        assertEquals(0, process.exitValue(), String.join(" ", command) + "\n" + log);
        return log;
    }

    /** A float32 C-order .npy of any rank, into a direct native-order buffer (as the service feeds ONNX Runtime). */
    public record Npy(List<Long> shape, FloatBuffer data) {

        private static final Pattern HEADER = Pattern.compile(
                "\\{'descr': '<f4', 'fortran_order': False, 'shape': \\(([0-9, ]+)\\), \\} *\\n");

        public static Npy read(Path file) throws IOException {
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
                ByteBuffer prefix = ByteBuffer.allocate(10).order(ByteOrder.LITTLE_ENDIAN);
                readFully(channel, prefix, 0);
                assertEquals("\u0093NUMPY", new String(prefix.array(), 0, 6, StandardCharsets.ISO_8859_1));
                assertEquals(1, prefix.get(6));
                int headerLength = Short.toUnsignedInt(prefix.getShort(8));
                ByteBuffer header = ByteBuffer.allocate(headerLength);
                readFully(channel, header, 10);
                String text = new String(header.array(), StandardCharsets.US_ASCII);
                Matcher m = HEADER.matcher(text);
                assertTrue(m.matches(), "not a float32 C-order .npy header: " + text);
                List<Long> shape = Arrays.stream(m.group(1).split(",")).map(String::trim).filter(s -> !s.isEmpty())
                        .map(Long::valueOf).toList();
                long count = shape.stream().reduce(1L, (a, b) -> a * b);
                assertEquals(10 + headerLength + 4 * count, channel.size(), "data size of " + file);
                ByteBuffer data = ByteBuffer.allocateDirect((int) (4 * count)).order(ByteOrder.LITTLE_ENDIAN);
                readFully(channel, data, 10 + headerLength);
                data.flip();
                FloatBuffer floats = SegmentationModel.directFloats(count);
                floats.put(data.asFloatBuffer()).flip();
                return new Npy(shape, floats);
            }
        }

        private static void readFully(FileChannel channel, ByteBuffer into, long position) throws IOException {
            while (into.hasRemaining()) {
                int n = channel.read(into, position);
                if (n < 0) {
                    throw new IOException("unexpected end of file");
                }
                position += n;
            }
        }
    }
}
