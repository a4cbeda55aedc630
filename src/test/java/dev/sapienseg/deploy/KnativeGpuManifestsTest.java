package dev.sapienseg.deploy;

import static dev.sapienseg.deploy.KnativeManifests.ROOT;
import static dev.sapienseg.deploy.KnativeManifests.app;
import static dev.sapienseg.deploy.KnativeManifests.check;
import static dev.sapienseg.deploy.KnativeManifests.container;
import static dev.sapienseg.deploy.KnativeManifests.env;
import static dev.sapienseg.deploy.KnativeManifests.functionImage;
import static dev.sapienseg.deploy.KnativeManifests.functionServices;
import static dev.sapienseg.deploy.KnativeManifests.overlays;
import static dev.sapienseg.deploy.KnativeManifests.templateSpec;
import static dev.sapienseg.deploy.TypedManifests.typed;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.sapienseg.model.ExecutionProvider;
import dev.sapienseg.provisioning.ModelPreset;
import io.fabric8.knative.serving.v1.Service;
import io.fabric8.kubernetes.api.model.HasMetadata;

/**
 * The GPU Services' sizing ({@link GpuSizingRules}): each has a CPU limit and a CPU request derived in its manifest
 * from a target rate and the measured CPU per picture; its batch fits the GPU's memory (whole GPU or MIG slice, under
 * gpu_mem_limit where set); knative/gpu-mig asks for a slice with the batch the memory rule picks; knative/gpu-tensorrt
 * runs its own image and provider with a start-up window that covers the engine builds. Shares {@link KnativeManifests}.
 */
class KnativeGpuManifestsTest {

    static final long GIB = 1L << 30;

    @BeforeAll
    static void render() {
        KnativeManifests.render();
    }

    private static List<ObjectNode> overlay(String name) {
        return overlays.get(ROOT.resolve(name).normalize());
    }

    private static Service function(List<ObjectNode> nodes) {
        return functionServices(typed(nodes, new ArrayList<>())).get(0);
    }

    private static AppConfig podConfig(List<ObjectNode> nodes) {
        List<HasMetadata> objects = typed(nodes, new ArrayList<>());
        return ServiceRules.podConfig(functionServices(objects).get(0), objects, app, new ArrayList<>());
    }

    @Test
    void everyGpuServiceHasACpuLimitAndARequestDerivedInItsManifest() {
        List<String> problems = new ArrayList<>();
        Set<String> gpuOverlays = new TreeSet<>();
        for (Map.Entry<Path, List<ObjectNode>> e : overlays.entrySet()) {
            for (Service s : functionServices(typed(e.getValue(), new ArrayList<>()))) {
                if (GpuSizingRules.hasGpu(s)) {
                    gpuOverlays.add(e.getKey().getFileName().toString());
                    GpuSizingRules.checkCpuSizing(s, GpuSizingRules.cpuSizing(e.getKey()))
                            .forEach(p -> problems.add(e.getKey() + ": " + p));
                }
            }
        }
        assertEquals(List.of(), problems);
        assertTrue(gpuOverlays.containsAll(Set.of("gpu", "gpu-mig", "gpu-tensorrt", "gpu-warm", "gpu-pvc", "monitoring")),
                gpuOverlays.toString());
        assertFalse(gpuOverlays.contains("cpu"));

        // knative/gpu: 100 pictures/s x 55 ms = 5.5 CPUs, request = limit = 7; its overlays inherit the line.
        GpuSizingRules.CpuSizing gpu = GpuSizingRules.cpuSizing(ROOT.resolve("gpu")).orElseThrow();
        assertEquals(new GpuSizingRules.CpuSizing(ROOT.resolve("gpu/service-gpu.yaml").normalize(), 100, 55, 5.5, 7), gpu);
        assertEquals(gpu, GpuSizingRules.cpuSizing(ROOT.resolve("gpu-tensorrt")).orElseThrow());
        // knative/gpu-mig: a seventh of a GPU, its own derivation in its patch.
        GpuSizingRules.CpuSizing mig = GpuSizingRules.cpuSizing(ROOT.resolve("gpu-mig")).orElseThrow();
        assertEquals(ROOT.resolve("gpu-mig/mig-slice.yaml").normalize(), mig.file());
        assertEquals(2, mig.request());
    }

    @Test
    void aCpuRequestThatDoesNotFollowItsDerivationIsReported() throws IOException {
        Path file = ROOT.resolve("gpu/service-gpu.yaml");
        String text = Files.readString(file);
        Service gpu = function(overlay("gpu"));
        assertEquals(List.of(), GpuSizingRules.checkCpuSizing(gpu, GpuSizingRules.parse(file, text)));

        List<String> faster = GpuSizingRules.checkCpuSizing(gpu, GpuSizingRules.parse(file,
                text.replace("target 100 pictures/s", "target 200 pictures/s")));
        assertTrue(faster.stream().anyMatch(p -> p.contains("CPU request 7 is below 200.0 pictures/s")), faster.toString());
        assertTrue(faster.stream().anyMatch(p -> p.contains("is 11.0 CPUs, not 5.5")), faster.toString());

        List<String> guessed = GpuSizingRules.checkCpuSizing(gpu, GpuSizingRules.parse(file,
                text.replace("x 55 ms per picture", "x 30 ms per picture")));
        assertTrue(guessed.stream().anyMatch(p -> p.contains("30.0 ms per picture is not the measured 55.0 ms")),
                guessed.toString());

        List<String> drifted = GpuSizingRules.checkCpuSizing(gpu, GpuSizingRules.parse(file,
                text.replace("request = limit = 7", "request = limit = 10")));
        assertTrue(drifted.stream().anyMatch(p -> p.contains("are not the 10.0 its derivation states")), drifted.toString());

        List<String> none = GpuSizingRules.checkCpuSizing(gpu, GpuSizingRules.parse(file, "cpu: \"8\"\n"));
        assertTrue(none.stream().anyMatch(p -> p.contains("no CPU sizing comment")), none.toString());
    }

    /** Each mutation of a rendered GPU overlay must be reported by {@link KnativeManifests#check}. */
    @TestFactory
    Stream<DynamicTest> brokenGpuSizingIsReported() {
        record Mutation(String name, String overlay, String expected, Consumer<List<ObjectNode>> change) {
        }
        List<Mutation> mutations = List.of(
                new Mutation("a GPU pod without a CPU limit", "gpu", "a GPU pod needs a CPU limit",
                        nodes -> ((ObjectNode) container(nodes).at("/resources/limits")).remove("cpu")),
                new Mutation("a CPU request above the limit", "gpu", "CPU request 12 exceeds the CPU limit 7",
                        nodes -> ((ObjectNode) container(nodes).at("/resources/requests")).put("cpu", "12")),
                new Mutation("a batch size above the maximum", "gpu", "batch-sizes lists 16, outside 1..",
                        nodes -> env(nodes, "SAPIENS_BATCHING_BATCH_SIZES").put("value", "1,2,4,8,16")),
                new Mutation("a batch a whole GPU cannot hold", "gpu", "does not fit nvidia.com/gpu's",
                        nodes -> {
                            env(nodes, "SAPIENS_BATCHING_MAX_BATCH_SIZE").put("value", "32");
                            env(nodes, "SAPIENS_BATCHING_BATCH_SIZES").put("value", "1,8,32");
                            templateSpec(nodes).put("containerConcurrency", 32);
                        }),
                new Mutation("a MIG slice with the whole GPU's batch", "gpu-mig", "does not fit gpu_mem_limit 8.59 GB (max batch that fits: 4)",
                        nodes -> {
                            env(nodes, "SAPIENS_BATCHING_MAX_BATCH_SIZE").put("value", "8");
                            env(nodes, "SAPIENS_BATCHING_BATCH_SIZES").put("value", "1,2,4,8");
                        }),
                new Mutation("an arena cap above the slice", "gpu-mig", "exceeds nvidia.com/mig-1g.10gb's 10.20 GB",
                        nodes -> env(nodes, "SAPIENS_EXECUTION_CUDA_OPTIONS__GPU_MEM_LIMIT__").put("value",
                                String.valueOf(10 * GIB))),
                new Mutation("gpu_mem_limit in the plain form SmallRye ignores", "gpu-mig",
                        "SAPIENS_EXECUTION_CUDA_OPTIONS_GPU_MEM_LIMIT is ignored",
                        nodes -> env(nodes, "SAPIENS_EXECUTION_CUDA_OPTIONS__GPU_MEM_LIMIT__").put("name",
                                "SAPIENS_EXECUTION_CUDA_OPTIONS_GPU_MEM_LIMIT")),
                new Mutation("a slice and a GPU", "gpu-mig", "needs limits nvidia.com/gpu: 1",
                        nodes -> ((ObjectNode) container(nodes).at("/resources/limits")).put("nvidia.com/gpu", "1")),
                new Mutation("a preset without a GPU memory estimate", "gpu", "no GPU activation estimate for model preset hf2-1b",
                        nodes -> env(nodes, "SAPIENS_MODEL_PRESET").put("value", "hf2-1b")),
                new Mutation("the TensorRT image on CUDA", "gpu-tensorrt", "a gpu-tensorrt image must run with SAPIENS_EXECUTION_PROVIDER=tensorrt",
                        nodes -> env(nodes, "SAPIENS_EXECUTION_PROVIDER").put("value", "cuda")),
                new Mutation("TensorRT on the plain GPU image", "gpu", "a gpu image must run with SAPIENS_EXECUTION_PROVIDER=cuda, not tensorrt",
                        nodes -> env(nodes, "SAPIENS_EXECUTION_PROVIDER").put("value", "tensorrt")),
                new Mutation("a TensorRT start-up window without the engine builds", "gpu-tensorrt",
                        "then a TensorRT engine build of 15 min",
                        nodes -> container(nodes).with("startupProbe").put("failureThreshold", 330)));
        return mutations.stream().map(m -> DynamicTest.dynamicTest(m.name(), () -> {
            List<ObjectNode> copy = overlay(m.overlay()).stream().map(ObjectNode::deepCopy).toList();
            assertEquals(List.of(), check(copy), "the overlay as shipped");
            m.change().accept(copy);
            List<String> problems = check(copy);
            assertTrue(problems.stream().anyMatch(p -> p.contains(m.expected())),
                    "expected a problem mentioning '" + m.expected() + "', got " + problems);
        }));
    }

    @Test
    void aProcessorCountInTheJvmOptionsStandsInForACpuLimit() {
        List<ObjectNode> copy = overlay("gpu").stream().map(ObjectNode::deepCopy).toList();
        ((ObjectNode) container(copy).at("/resources/limits")).remove("cpu");
        ((ArrayNode) container(copy).get("env")).addObject().put("name", "JAVA_TOOL_OPTIONS")
                .put("value", "-XX:ActiveProcessorCount=8");
        assertEquals(List.of(), check(copy));
    }

    @Test
    void theMigOverlayTakesOneSliceAndTheBatchTheMemoryRulePicks() {
        List<ObjectNode> mig = overlay("gpu-mig");
        Map<String, String> limits = new java.util.TreeMap<>();
        container(mig).at("/resources/limits").fields().forEachRemaining(e -> limits.put(e.getKey(), e.getValue().asText()));
        assertEquals(Map.of("cpu", "2", "memory", "12Gi", "nvidia.com/mig-1g.10gb", "1"), limits);

        AppConfig cfg = podConfig(mig);
        assertEquals(String.valueOf(8 * GIB), cfg.mapEntry(GpuSizingRules.GPU_MEM_LIMIT), "the quoted variable");
        assertEquals("kSameAsRequested", cfg.mapEntry("sapiens.execution.cuda-options.arena_extend_strategy"),
                "the plain variable of a key application.properties names");
        ModelPreset preset = ModelPreset.byId(cfg.get("sapiens.model.preset"));
        assertEquals(ModelPreset.HF_0_3B_FP16, preset);
        long activations = GpuSizingRules.activationsPerPicture(preset).orElseThrow();
        assertEquals(1_100_000_000L, activations, "half of fp32's 2.2 GB");
        // The rule picks the batch: the largest power of two under the 8 GiB cap is 4 (8 would need 11 GB).
        assertEquals(4, GpuSizingRules.largestBatch(preset.downloadBytes(), activations, 8 * GIB));
        assertEquals(4, cfg.getInt("sapiens.batching.max-batch-size"));
        assertEquals(List.of(1, 2, 4), GpuSizingRules.batchSizes(cfg));
        assertEquals((long) (9.5 * GIB), GpuSizingRules.deviceMemory("nvidia.com/mig-1g.10gb", Map.of()).orElseThrow());

        // The whole GPU holds batch 8 of the fp16 model on an L4-class 24 GB GPU: 0.68 + 8 x 1.1 + 1.5 = 10.98 GB.
        AppConfig gpu = podConfig(overlay("gpu"));
        assertEquals(8, gpu.getInt("sapiens.batching.max-batch-size"));
        assertEquals(10_980_000_000L, GpuSizingRules.need(preset.downloadBytes(), activations, 8));
        assertTrue(GpuSizingRules.need(preset.downloadBytes(), activations, 8) <= GpuSizingRules.FULL_GPU_FLOOR);
        assertEquals(null, gpu.mapEntry(GpuSizingRules.GPU_MEM_LIMIT), "a whole GPU sets no arena cap");
        assertEquals("tf32", gpu.get("sapiens.execution.cuda-precision"));
        assertEquals(List.of(1, 2, 4, 8), GpuSizingRules.batchSizes(gpu));
        // fp32 presets take twice the activations.
        assertEquals(2_200_000_000L, GpuSizingRules.activationsPerPicture(ModelPreset.HF_0_3B).orElseThrow());
    }

    @Test
    void theTensorRtOverlayRunsItsImageAndCoversItsEngineBuilds() {
        List<ObjectNode> trt = overlay("gpu-tensorrt");
        assertEquals(functionImage + ":gpu-tensorrt", container(trt).get("image").asText(),
                "knative/images retargets the name and keeps the tag");
        AppConfig cfg = podConfig(trt);
        assertEquals("tensorrt", cfg.get("sapiens.execution.provider"));
        assertEquals("fail", cfg.get("sapiens.execution.cuda-fallback"));
        // 53 min (download and load) + one engine build for the profile over batches 1-8 (15 min) = 68 min
        // <= 420 x 10 s <= 4500 s - 5 min.
        Duration budget = BudgetRules.modelLoadBudget(ExecutionProvider.TENSORRT, GpuSizingRules.batchSizes(cfg).size());
        assertEquals(68, budget.toMinutes());
        assertTrue(Duration.ofSeconds(420 * 10).compareTo(budget) >= 0);
        assertEquals(420, container(trt).at("/startupProbe/failureThreshold").asInt());
        assertEquals(BudgetRules.modelLoadBudget(ExecutionProvider.CUDA),
                BudgetRules.modelLoadBudget(ExecutionProvider.CUDA, 4), "only TensorRT builds engines");
        // The same model cache volume as knative/gpu: the engine and timing caches live on it.
        assertEquals(podConfig(overlay("gpu")).envValue("SAPIENS_MODEL_CACHE_DIR"), cfg.envValue("SAPIENS_MODEL_CACHE_DIR"));
        // Swapping ../gpu for ../gpu-pvc (as its kustomization says) keeps the engines across pods.
        assertEquals(List.of("../gpu"), Kustomize.load(ROOT.resolve("gpu-tensorrt")).resourcesOrEmpty());
    }
}
