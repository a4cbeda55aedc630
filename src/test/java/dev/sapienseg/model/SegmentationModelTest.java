package dev.sapienseg.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.sapienseg.fixtures.FixtureModels;
import dev.sapienseg.fixtures.ModelFiles;
import dev.sapienseg.fixtures.OnnxGraphBuilder;
import dev.sapienseg.fixtures.OnnxGraphBuilder.Dim;

class SegmentationModelTest {

    @TempDir
    Path dir;

    private static String loadFailure(Path model) {
        return assertThrows(ModelLoadException.class, () -> SegmentationModel.load(ModelSettings.cpu(model))).getMessage();
    }

    @Test
    void readsTheContractFromTheModel() throws Exception {
        try (SegmentationModel model = SegmentationModel.load(ModelSettings.cpu(FixtureModels.PALETTE_DEMO))) {
            assertEquals(new ModelContract("pixel_values", "logits", 0, 1024, 768, 28, 512, 384), model.contract());
            assertEquals(ExecutionProvider.CPU, model.provider());
            assertNull(model.providerNote());
            assertTrue(model.isDemo());
            assertEquals("sapiens-palette-demo", model.name());
        }
        try (SegmentationModel model = SegmentationModel.load(ModelSettings.cpu(FixtureModels.TINY_VIT))) {
            assertEquals(new ModelContract("input", "logits", 0, 1024, 768, 28, 512, 384), model.contract());
            assertFalse(model.isDemo());
        }
    }

    @Test
    void settlesDynamicOutputDimensionsWithTheWarmUpRun() throws Exception {
        Path file = ModelFiles.write(dir, "dynamic.onnx", FixtureModels.palette(Dim.dynamic("b"), 28, true, false, "dyn"));
        try (SegmentationModel model = SegmentationModel.load(ModelSettings.cpu(file))) {
            assertEquals(28, model.contract().classes());
            assertEquals(512, model.contract().outputHeight());
            assertEquals(384, model.contract().outputWidth());
        }
    }

    @Test
    void acceptsFixedBatchAndOneChannelModels() throws Exception {
        Path fixed = ModelFiles.write(dir, "fixed.onnx", FixtureModels.palette(Dim.of(2), 28, true, true, "fixed"));
        try (SegmentationModel model = SegmentationModel.load(ModelSettings.cpu(fixed))) {
            assertEquals(2, model.contract().fixedBatch());
            assertEquals(2, model.contract().maxBatch());
        }
        Path binary = ModelFiles.write(dir, "binary.onnx", FixtureModels.palette(Dim.dynamic("b"), 1, true, true, "fg"));
        try (SegmentationModel model = SegmentationModel.load(ModelSettings.cpu(binary))) {
            assertEquals(1, model.contract().classes());
        }
    }

    @Test
    void refusesMissingAndCorruptFiles() throws Exception {
        assertTrue(loadFailure(dir.resolve("nope.onnx")).startsWith("model file not found: "));
        assertTrue(loadFailure(dir).contains("not a readable file"));
        Path garbage = ModelFiles.write(dir, "garbage.onnx", "this is not a model".getBytes());
        assertTrue(loadFailure(garbage).startsWith("not an ONNX model"), loadFailure(garbage));
        byte[] vit = Files.readAllBytes(FixtureModels.TINY_VIT);
        Path truncated = ModelFiles.write(dir, "truncated.onnx", Arrays.copyOf(vit, vit.length / 2));
        String message = loadFailure(truncated);
        assertTrue(message.startsWith("not an ONNX model") || message.contains("could not load"), message);
    }

    @Test
    void warmUpPolicy() throws Exception {
        // auto on the CPU: a model that declares its output size is ready without a run (the first run is not slower).
        try (SegmentationModel auto = SegmentationModel.load(ModelSettings.cpu(FixtureModels.PALETTE_DEMO).withWarmUp(WarmUp.AUTO))) {
            assertEquals(0, auto.warmUpMillis());
            assertEquals(512, auto.contract().outputHeight());
        }
        try (SegmentationModel always = SegmentationModel.load(ModelSettings.cpu(FixtureModels.PALETTE_DEMO).withWarmUp(WarmUp.ALWAYS))) {
            assertTrue(always.warmUpMillis() > 0);
        }
        // Output dimensions the file leaves symbolic are still known when ONNX Runtime's shape inference settles
        // them at load: the contract is complete without a run, and checked as before.
        Path dynamic = ModelFiles.write(dir, "dynamic.onnx", FixtureModels.palette(Dim.dynamic("b"), 28, true, false, "dynamic"));
        try (SegmentationModel auto = SegmentationModel.load(ModelSettings.cpu(dynamic).withWarmUp(WarmUp.NEVER))) {
            assertEquals(28, auto.contract().classes());
            assertEquals(384, auto.contract().outputWidth());
        }
    }

    @Test
    void refusesModelsThatBreakTheContract() {
        Path fiveClasses = ModelFiles.write(dir, "five.onnx", FixtureModels.palette(Dim.dynamic("b"), 5, true, true, "five"));
        assertTrue(loadFailure(fiveClasses).contains("5 classes; expected 28"), loadFailure(fiveClasses));

        // 28 classes at full resolution is no known family (v1 is at half, Sapiens2's 29 classes at full).
        Path fullResolution = ModelFiles.write(dir, "full.onnx", FixtureModels.palette(Dim.dynamic("b"), 28, false, true, "full"));
        assertTrue(loadFailure(fullResolution).contains("28 classes at 1024x768 for an input of 1024x768; expected 28 classes"
                + " at 512x384 (sapiens), or 29 classes at 1024x768 (sapiens2), or 1 classes at 512x384 (foreground)"),
                loadFailure(fullResolution));

        // Same fault hidden behind dynamic output dimensions: caught all the same.
        Path hidden = ModelFiles.write(dir, "hidden.onnx", FixtureModels.palette(Dim.dynamic("b"), 28, false, false, "hidden"));
        assertTrue(loadFailure(hidden).contains("28 classes at 1024x768"), loadFailure(hidden));

        OnnxGraphBuilder ints = new OnnxGraphBuilder("ints");
        ints.input("x", OnnxGraphBuilder.INT32, Dim.of(1), Dim.of(3), Dim.of(1024), Dim.of(768));
        ints.node("Cast", "y", java.util.List.of("x"), "to", (long) OnnxGraphBuilder.FLOAT);
        ints.output("y", OnnxGraphBuilder.FLOAT, Dim.of(1), Dim.of(3), Dim.of(1024), Dim.of(768));
        Path intInput = ModelFiles.write(dir, "ints.onnx", ints.build());
        assertTrue(loadFailure(intInput).contains("float32 input is required"), loadFailure(intInput));
    }

    @Test
    void cudaFallsBackToCpuOrFailsAsConfigured() throws Exception {
        // The default build carries the CPU ONNX Runtime: CUDA is never available here, which is the case to test.
        ModelSettings fallback = new ModelSettings(FixtureModels.PALETTE_DEMO, 1024, 768, ExecutionProvider.CUDA, 0,
                Map.of("use_tf32", "0"), true, 0, 0);
        try (SegmentationModel model = SegmentationModel.load(fallback)) {
            assertEquals(ExecutionProvider.CPU, model.provider());
            assertTrue(model.providerNote().startsWith("fallback from cuda: "), model.providerNote());
        }
        ModelSettings strict = new ModelSettings(FixtureModels.PALETTE_DEMO, 1024, 768, ExecutionProvider.CUDA, 0,
                Map.of(), false, 0, 0);
        String message = assertThrows(ModelLoadException.class, () -> SegmentationModel.load(strict)).getMessage();
        assertTrue(message.startsWith("cuda requested but unavailable: "), message);
        assertTrue(message.contains("cuda-fallback"), message);
    }

    @Test
    void aFallbackToTheCpuTakesTheCpusThreadsNotTheGpus() {
        ModelSettings gpu = new ModelSettings(FixtureModels.PALETTE_DEMO, 1024, 768, ExecutionProvider.CUDA, 0,
                Map.of(), true, 2, 0).withCpuIntraOpThreads(8);
        ModelSettings fallback = gpu.forCpuFallback();
        assertEquals(ExecutionProvider.CPU, fallback.provider());
        assertEquals(8, fallback.intraOpThreads());
        assertEquals(gpu.path(), fallback.path());
    }

    @Test
    void tensorrtFallsBackOrFailsLikeCudaNamingWhatIsMissing() throws Exception {
        ModelSettings fallback = new ModelSettings(FixtureModels.PALETTE_DEMO, 1024, 768, ExecutionProvider.TENSORRT, 0,
                Map.of(), true, 0, 0).withTensorrtOptions(Map.of("trt_engine_cache_path", dir.resolve("trt").toString()));
        try (SegmentationModel model = SegmentationModel.load(fallback)) {
            assertEquals(ExecutionProvider.CPU, model.provider());
            assertTrue(model.providerNote().startsWith("fallback from tensorrt: "), model.providerNote());
        }
        GpuUnavailableException strict = assertThrows(GpuUnavailableException.class, () -> SegmentationModel.load(
                new ModelSettings(FixtureModels.PALETTE_DEMO, 1024, 768, ExecutionProvider.TENSORRT, 0, Map.of(), false,
                        0, 0)));
        assertEquals(GpuFailure.NOT_IN_BUILD, strict.failure());
        assertTrue(strict.getMessage().startsWith("tensorrt requested but unavailable: this build's ONNX Runtime has no"
                + " GPU provider"), strict.getMessage());
    }

    @Test
    void theProfileOfTensorrtSpansTheWarmedBatchesAtTheModelsInputSize() throws Exception {
        ModelSettings settings = new ModelSettings(FixtureModels.PALETTE_DEMO, 1024, 768, ExecutionProvider.TENSORRT, 0,
                Map.of(), false, 0, 0).withWarmUpBatches(java.util.List.of(1, 2, 4, 8))
                .withTensorrtOptions(Map.of("trt_engine_cache_path", dir.resolve("engines").toString(), "trt_fp16_enable", "1"));
        Map<String, String> options = SessionFactory.tensorrtOptions(ai.onnxruntime.OrtEnvironment.getEnvironment(), settings);
        assertEquals("pixel_values:1x3x1024x768", options.get("trt_profile_min_shapes"));
        assertEquals("pixel_values:8x3x1024x768", options.get("trt_profile_opt_shapes"));
        assertEquals("pixel_values:8x3x1024x768", options.get("trt_profile_max_shapes"));
        assertEquals("1", options.get("trt_fp16_enable"));
        assertTrue(Files.isDirectory(dir.resolve("engines")), "the engine cache folder is made before TensorRT needs it");
    }

    @Test
    void aGpuWarmsEveryBatchShapeTheCpuOnlyTheFirst() throws Exception {
        ModelSettings cpu = ModelSettings.cpu(FixtureModels.PALETTE_DEMO).withWarmUpBatches(java.util.List.of(1, 2, 4));
        try (SegmentationModel model = SegmentationModel.load(cpu)) {
            assertEquals(java.util.List.of(1), model.warmUp().batches(), "on the CPU a new shape costs nothing extra");
        }
        // What a GPU session does after its session starts, run here on the CPU: one run per shape, each timed.
        try (SegmentationModel model = SegmentationModel.load(ModelSettings.cpu(FixtureModels.PALETTE_DEMO))) {
            ai.onnxruntime.OrtEnvironment env = ai.onnxruntime.OrtEnvironment.getEnvironment();
            try (ai.onnxruntime.OrtSession session = env.createSession(FixtureModels.PALETTE_DEMO.toString())) {
                WarmUpRuns runs = WarmUpRuns.run(env, session, model.contract(), false, java.util.List.of(1, 2, 4));
                assertEquals(java.util.List.of(1, 2, 4), runs.batches());
                assertEquals(3, runs.millis().size());
                assertEquals(runs.millis().stream().mapToLong(Long::longValue).sum(), runs.totalMillis());
            }
        }
    }
}
