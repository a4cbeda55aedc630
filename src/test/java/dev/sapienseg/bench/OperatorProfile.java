package dev.sapienseg.bench;

import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.sapienseg.model.SegmentationModel;

/**
 * Where ONNX Runtime spends a model run, per operator type and per node: ONNX Runtime's own session profiling (a
 * Chrome-trace JSON), summed over the measured runs after one warm-up. {@code -Darena=false} and
 * {@code -Dpattern=false} turn off ONNX Runtime's CPU arena and memory patterns, {@code -Dnoprofile=true} profiling.
 * Not a test:
 *
 * <pre>
 * ./mvnw -q test-compile exec:java -Dexec.classpathScope=test -Dexec.mainClass=dev.sapienseg.bench.OperatorProfile \
 *     -Dexec.args="MODEL.onnx [runs=1] [threads=0]"
 * </pre>
 */
public final class OperatorProfile {

    public static void main(String[] args) throws Exception {
        profile(args);
    }

    private static void profile(String[] args) throws Exception {
        Path model = Path.of(args[0]);
        int runs = args.length > 1 ? Integer.parseInt(args[1]) : 1;
        int threads = args.length > 2 ? Integer.parseInt(args[2]) : 0;
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        Path prefix = Files.createTempDirectory("ort-profile").resolve("profile");
        String file;
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.valueOf(System.getProperty("opt", "ALL_OPT")));
            if (System.getProperty("save") != null) {
                options.setOptimizedModelFilePath(System.getProperty("save"));
            }
            options.addConfigEntry("session.intra_op.allow_spinning", "0");
            if (threads > 0) {
                options.setIntraOpNumThreads(threads);
            }
            options.setCPUArenaAllocator(Boolean.parseBoolean(System.getProperty("arena", "true")));
            options.setMemoryPatternOptimization(Boolean.parseBoolean(System.getProperty("pattern", "true")));
            if (!Boolean.getBoolean("noprofile")) {
                options.enableProfiling(prefix.toString());
            }
            long created = System.nanoTime();
            try (OrtSession session = env.createSession(model.toString(), options)) {
                System.out.printf("session created in %.1f ms%n", (System.nanoTime() - created) / 1e6);
                String input = session.getInputNames().iterator().next();
                long[] shape = {1, 3, 1024, 768};
                FloatBuffer zeros = SegmentationModel.directFloats(3L * 1024 * 768);
                try (OnnxTensor tensor = OnnxTensor.createTensor(env, zeros, shape)) {
                    for (int i = 0; i <= runs; i++) {
                        long start = System.nanoTime();
                        try (OrtSession.Result ignored = session.run(Map.of(input, tensor))) {
                            System.out.printf("run %d: %.1f ms%s%n", i, (System.nanoTime() - start) / 1e6,
                                    i == 0 ? " (warm-up, not counted)" : "");
                        }
                    }
                }
                if (Boolean.getBoolean("noprofile")) {
                    return;
                }
                file = session.endProfiling();
            }
        }
        JsonNode events = new ObjectMapper().readTree(Path.of(file).toFile());
        Map<String, double[]> byOp = new TreeMap<>();
        Map<String, Double> byNode = new LinkedHashMap<>();
        int run = 0;
        double total = 0;
        for (JsonNode e : events) {
            String name = e.path("name").asText();
            if ("model_run".equals(name)) {
                run++;
            }
            if (!"Node".equals(e.path("cat").asText()) || !name.endsWith("_kernel_time") || run < 1) {
                continue; // run 0 is the warm-up (its model_run event closes it)
            }
            String op = e.path("args").path("op_name").asText();
            double ms = e.path("dur").asDouble() / 1000.0 / runs;
            byOp.computeIfAbsent(op, k -> new double[2])[0] += ms;
            byOp.get(op)[1] += 1.0 / runs;
            byNode.merge(op + " " + name.replace("_kernel_time", ""), ms, Double::sum);
            total += ms;
        }
        System.out.printf("%nper operator type (ms per run, over %d run(s); kernels total %.1f ms):%n", runs, total);
        double all = total;
        byOp.entrySet().stream().sorted(Comparator.comparingDouble(en -> -en.getValue()[0]))
                .forEach(en -> System.out.printf("  %-28s %10.1f ms %5.1f %%  %4.0f nodes%n", en.getKey(),
                        en.getValue()[0], 100 * en.getValue()[0] / all, en.getValue()[1]));
        System.out.println("slowest nodes:");
        byNode.entrySet().stream().sorted(Map.Entry.comparingByValue(Comparator.reverseOrder())).limit(12)
                .forEach(en -> System.out.printf("  %-60s %10.1f ms%n", en.getKey(), en.getValue()));
        System.out.println("profile: " + file);
    }
}
