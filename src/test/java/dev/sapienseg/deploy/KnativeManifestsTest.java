package dev.sapienseg.deploy;

import static dev.sapienseg.deploy.KnativeManifests.APPLICATION_PROPERTIES;
import static dev.sapienseg.deploy.KnativeManifests.README;
import static dev.sapienseg.deploy.KnativeManifests.ROOT;
import static dev.sapienseg.deploy.KnativeManifests.annotations;
import static dev.sapienseg.deploy.KnativeManifests.app;
import static dev.sapienseg.deploy.KnativeManifests.check;
import static dev.sapienseg.deploy.KnativeManifests.container;
import static dev.sapienseg.deploy.KnativeManifests.env;
import static dev.sapienseg.deploy.KnativeManifests.functionServices;
import static dev.sapienseg.deploy.KnativeManifests.goDuration;
import static dev.sapienseg.deploy.KnativeManifests.object;
import static dev.sapienseg.deploy.KnativeManifests.overlays;
import static dev.sapienseg.deploy.KnativeManifests.templateSpec;
import static dev.sapienseg.deploy.KnativeManifests.triggerAttributes;
import static dev.sapienseg.deploy.TypedManifests.typed;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
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

import dev.sapienseg.model.ExecutionProvider;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.sapienseg.storage.StorageWebhook;

/**
 * Keeps knative/ honest: every manifest parses into typed fabric8 objects with no unknown field, every overlay renders
 * as {@code kubectl apply -k} would, and the numbers that must agree with the application (port, health paths, event
 * types, batch size, concurrency, timeouts, model-load budget, body limits, variable names) are read from
 * application.properties and {@code SapiensConfig} and compared, so a change on either side fails the build.
 * Plain JUnit, no Quarkus boot.
 *
 * <p>This class checks every overlay as a whole and proves that check fails when either side changes; the rules it runs
 * are {@link ServiceRules}, {@link BudgetRules}, {@link EventingRules} and {@link HardeningRules}. The other families
 * have their own classes: KnativeKustomizeManifestsTest (rendering and typing), KnativeFeatureFlagsManifestsTest,
 * KnativeEventingManifestsTest, KnativeHardeningManifestsTest. All share {@link KnativeManifests}.
 */
class KnativeManifestsTest {

    @BeforeAll
    static void render() {
        KnativeManifests.render();
    }

    @Test
    void theDocumentedOverlaysExistAndRender() {
        Set<String> names = new TreeSet<>();
        overlays.keySet().forEach(p -> names.add(p.getFileName().toString()));
        assertTrue(names.containsAll(Set.of("gpu", "cpu", "gpu-warm", "gpu-pvc", "gpu-mig", "gpu-tensorrt", "minio",
                "monitoring", "aws")), "overlays: " + names);
        for (Map.Entry<Path, List<ObjectNode>> e : overlays.entrySet()) {
            assertFalse(functionServices(typed(e.getValue(), new ArrayList<>())).isEmpty(),
                    e.getKey() + " deploys no function Service");
        }
    }

    @Test
    void everyOverlayMatchesTheApplication() {
        List<String> problems = new ArrayList<>();
        for (Map.Entry<Path, List<ObjectNode>> e : overlays.entrySet()) {
            for (String p : check(e.getValue())) {
                problems.add(e.getKey() + ": " + p);
            }
        }
        assertEquals(List.of(), problems);
    }

    @Test
    void theReadmeNamesEveryOverlayAndTheWebhookPath() throws IOException {
        String readme = Files.readString(README);
        for (Path dir : overlays.keySet()) {
            String command = "kubectl apply -k knative/" + dir.getFileName();
            assertTrue(readme.contains(command), "knative/README.md lacks `" + command + "`");
        }
        assertTrue(readme.contains(StorageWebhook.PATH), "knative/README.md lacks the webhook path");
        long budget = BudgetRules.modelLoadBudget(ExecutionProvider.CUDA).toMinutes();
        assertTrue(readme.contains(budget + " minutes"), "knative/README.md states the model-load budget, " + budget
                + " minutes");
    }

    @Test
    void theStartupWindowFollowsTheLargestPreset() {
        // The largest a GPU pod can be given: Sapiens2 1b (5.9 GB), 49 min at 2 MB/s, then 4 min to load.
        assertEquals("hf2-1b", BudgetRules.largestPreset(ExecutionProvider.CUDA).id());
        assertEquals(53, BudgetRules.modelLoadBudget(ExecutionProvider.CUDA).toMinutes());
        assertEquals(BudgetRules.modelLoadBudget(ExecutionProvider.CUDA), BudgetRules.modelLoadBudget(ExecutionProvider.CPU));
    }

    // --- proof that the checks can fail ------------------------------------------------------------------------

    /** Each mutation of the rendered GPU overlay must be reported by {@link KnativeManifests#check}, naming what is wrong. */
    @TestFactory
    Stream<DynamicTest> brokenManifestsAreReported() {
        record Mutation(String name, String expected, Consumer<List<ObjectNode>> change) {
        }
        List<Mutation> mutations = List.of(
                new Mutation("a container that may escalate privileges", "allowPrivilegeEscalation must be false",
                        nodes -> ((ObjectNode) container(nodes).get("securityContext")).put("allowPrivilegeEscalation", true)),
                new Mutation("a node label only NVIDIA's GPU Operator sets", "nodeSelector nvidia.com/gpu.present is not",
                        nodes -> ((ObjectNode) templateSpec(nodes).get("nodeSelector")).put("nvidia.com/gpu.present", "true")),
                new Mutation("a selector without the images' architecture", "kubernetes.io/arch: amd64",
                        nodes -> ((ObjectNode) templateSpec(nodes).get("nodeSelector")).put("kubernetes.io/arch", "arm64")),
                new Mutation("containerConcurrency below the batch size", "is below sapiens.batching.max-batch-size",
                        nodes -> templateSpec(nodes).put("containerConcurrency", 4)),
                new Mutation("containerConcurrency above max-in-flight", "exceeds sapiens.limits.max-in-flight",
                        nodes -> templateSpec(nodes).put("containerConcurrency", 32)),
                new Mutation("misspelled Quarkus variable", "QUARKUS_LOG_CONSOL_JSON_ENABLED matches no configuration key",
                        nodes -> env(nodes, "QUARKUS_LOG_CONSOLE_JSON_ENABLED").put("name", "QUARKUS_LOG_CONSOL_JSON_ENABLED")),
                new Mutation("misspelled variable", "SAPIENS_BATCHING_MAX_BATCHSIZE",
                        nodes -> env(nodes, "SAPIENS_BATCHING_MAX_BATCH_SIZE").put("name", "SAPIENS_BATCHING_MAX_BATCHSIZE")),
                new Mutation("readiness probe on a wrong path", "readinessProbe path /health/ready",
                        nodes -> container(nodes).with("readinessProbe").with("httpGet").put("path", "/health/ready")),
                new Mutation("a readiness timeout without a period", "disallowed when periodSeconds is zero",
                        nodes -> container(nodes).with("readinessProbe").put("timeoutSeconds", 5)),
                new Mutation("probe on another port", "livenessProbe port 9000 is not the http port",
                        nodes -> container(nodes).with("livenessProbe").with("httpGet").put("port", 9000)),
                new Mutation("a reserved port", "reserved by queue-proxy",
                        nodes -> ((ObjectNode) container(nodes).get("ports").get(0)).put("containerPort", 8012)),
                new Mutation("timeoutSeconds that is not the function's request timeout", "differs from sapiens.limits.request-timeout",
                        nodes -> templateSpec(nodes).put("timeoutSeconds", 200)),
                new Mutation("a grace period Knative refuses", "terminationGracePeriodSeconds is refused",
                        nodes -> templateSpec(nodes).put("terminationGracePeriodSeconds", 60)),
                new Mutation("a startup window shorter than the model load", "shorter than the model-load budget",
                        nodes -> container(nodes).with("startupProbe").put("failureThreshold", 120)),
                new Mutation("a progress deadline shorter than the startup window", "does not cover the startup window",
                        nodes -> annotations(nodes).put("serving.knative.dev/progress-deadline", "600s")),
                new Mutation("an autoscaling target above containerConcurrency", "autoscaling target 20.0 exceeds",
                        nodes -> annotations(nodes).put("autoscaling.knative.dev/target", "20")),
                new Mutation("an autoscaling target that never lets a batch fill", "below the batch size",
                        nodes -> annotations(nodes).put("autoscaling.knative.dev/target-utilization-percentage", "50")),
                new Mutation("no GPU limit", "needs limits nvidia.com/gpu: 1",
                        nodes -> ((ObjectNode) container(nodes).get("resources").get("limits")).remove("nvidia.com/gpu")),
                new Mutation("a GPU pod on the CPU provider", "SAPIENS_EXECUTION_PROVIDER=cuda",
                        nodes -> env(nodes, "SAPIENS_EXECUTION_PROVIDER").put("value", "cpu")),
                new Mutation("a body limit below the application's", "is below quarkus.http.limits.max-body-size",
                        nodes -> annotations(nodes).put("nginx.ingress.kubernetes.io/proxy-body-size", "10m")),
                new Mutation("the model cache not on a volume", "is not a writable volume mount",
                        nodes -> env(nodes, "SAPIENS_MODEL_CACHE_DIR").put("value", "/tmp/models")),
                new Mutation("a Trigger on our own result type", "result-type replies: an endless loop",
                        nodes -> triggerAttributes(nodes, "sapiens-seg-requests").put("type", "sapiens.segment.result")),
                new Mutation("a Trigger without a type", "filters on no exact type",
                        nodes -> triggerAttributes(nodes, "sapiens-seg-requests").remove("type")),
                new Mutation("a Trigger on a type the function refuses", "sapiens.segmnet: the function does not handle it",
                        nodes -> triggerAttributes(nodes, "sapiens-seg-requests").put("type", "sapiens.segmnet")),
                new Mutation("a Trigger without retries", "sapiens-seg-s3-put: delivery retry must be at least 1",
                        nodes -> ((ObjectNode) object(nodes, "Trigger", "sapiens-seg-s3-put").get("spec").get("delivery"))
                                .put("retry", 0)),
                new Mutation("a dead-letter sink that does not exist", "dead-letter sink serving.knative.dev/v1 Service nowhere is not deployed",
                        nodes -> ((ObjectNode) object(nodes, "Broker", "default").at("/spec/delivery/deadLetterSink/ref"))
                                .put("name", "nowhere")),
                new Mutation("a Trigger to a Service that does not exist", "subscriber serving.knative.dev/v1 Service sapiens-sge is not deployed",
                        nodes -> ((ObjectNode) object(nodes, "Trigger", "sapiens-seg-s3-put").at("/spec/subscriber/ref"))
                                .put("name", "sapiens-sge")),
                new Mutation("an environment ConfigMap that does not exist", "envFrom ConfigMap nope is not deployed",
                        nodes -> ((ObjectNode) container(nodes).get("envFrom").get(0).get("configMapRef"))
                                .put("name", "nope")),
                new Mutation("a memory budget the pod's limit cannot hold", "memory limit 16384 MiB is below model",
                        nodes -> env(nodes, "SAPIENS_LIMITS_MEMORY_BUDGET").put("value", "12G")),
                new Mutation("a Java heap share that leaves no room", "heap 8192 (50.0 %)",
                        nodes -> env(nodes, "JAVA_MAX_RAM_PERCENTAGE").put("value", "50")),
                new Mutation("a memory budget below one picture at the pixel limit", "cannot admit one picture at the pixel limit",
                        nodes -> env(nodes, "SAPIENS_LIMITS_MEMORY_BUDGET").put("value", "512M")),
                new Mutation("a misspelled field", "unknown fields [containerConcurency]",
                        nodes -> templateSpec(nodes).set("containerConcurency", templateSpec(nodes).remove("containerConcurrency"))));
        List<ObjectNode> gpu = overlays.get(ROOT.resolve("gpu").normalize());
        assertNotNull(gpu, "knative/gpu");
        return mutations.stream().map(m -> DynamicTest.dynamicTest(m.name(), () -> {
            List<ObjectNode> copy = gpu.stream().map(ObjectNode::deepCopy).toList();
            m.change().accept(copy);
            List<String> problems = check(copy);
            assertTrue(problems.stream().anyMatch(p -> p.contains(m.expected())),
                    "expected a problem mentioning '" + m.expected() + "', got " + problems);
        }));
    }

    /** The other side: the application's configuration changes, the manifests do not, the check fails. */
    @TestFactory
    Stream<DynamicTest> applicationChangesAreReported(@org.junit.jupiter.api.io.TempDir Path tmp) throws IOException {
        String properties = Files.readString(APPLICATION_PROPERTIES);
        record Change(String name, String overlay, String line, String replacement, String expected) {
        }
        List<Change> changes = List.of(
                new Change("max-in-flight below the CPU Service's containerConcurrency", "cpu",
                        "sapiens.limits.max-in-flight=", "sapiens.limits.max-in-flight=1", "exceeds sapiens.limits.max-in-flight 1"),
                new Change("a queue timeout longer than the revision timeout", "gpu",
                        "#sapiens.limits.queue-timeout=", "sapiens.limits.queue-timeout=10m", "does not exceed sapiens.limits.queue-timeout"),
                new Change("more requests in flight than the CPU Service's runs can serve within its timeout", "cpu",
                        "sapiens.limits.max-in-flight=", "sapiens.limits.max-in-flight=16",
                        "with runs of 21200 ms: a full pod (16 requests, 16 model runs"),
                new Change("a request timeout that is not the revision's", "cpu",
                        "sapiens.limits.request-timeout=", "sapiens.limits.request-timeout=60s", "differs from sapiens.limits.request-timeout"),
                new Change("a shutdown timeout longer than the grace period", "cpu",
                        "sapiens.shutdown.timeout=", "sapiens.shutdown.timeout=5m", "does not cover queue-proxy's drain"),
                new Change("another request type", "gpu",
                        "sapiens.events.request-type=", "sapiens.events.request-type=sapiens.segment.v2", "sapiens.segment: the function does not handle it"),
                new Change("a result type the request Trigger matches", "gpu",
                        "sapiens.events.result-type=", "sapiens.events.result-type=sapiens.segment", "result-type replies: an endless loop"),
                new Change("a body limit too small for the image limit", "cpu",
                        "quarkus.http.limits.max-body-size=", "quarkus.http.limits.max-body-size=10M", "cannot carry a base64 image"),
                new Change("another health root", "gpu",
                        "quarkus.banner.enabled=", "quarkus.smallrye-health.root-path=healthz", "is not /q/healthz/ready"),
                new Change("a pixel limit the CPU Service's memory budget cannot admit", "cpu",
                        "sapiens.limits.max-image-pixels=", "sapiens.limits.max-image-pixels=400000000",
                        "cannot admit one picture at the pixel limit"),
                new Change("another HTTP port", "cpu",
                        "quarkus.banner.enabled=", "quarkus.http.port=8081", "is not quarkus.http.port 8081"));
        return changes.stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> {
            String changed = properties.lines()
                    .map(l -> l.startsWith(c.line()) ? c.replacement() : l)
                    .reduce("", (a, b) -> a + b + "\n");
            assertTrue(changed.contains(c.replacement()), "the change applies: " + c.line());
            Path file = tmp.resolve(c.overlay() + "-" + Math.abs(c.name().hashCode()) + ".properties");
            Files.writeString(file, changed);
            AppConfig changedApp = AppConfig.load(file);
            List<ObjectNode> nodes = overlays.get(ROOT.resolve(c.overlay()).normalize());
            List<String> problems = check(nodes, changedApp);
            assertTrue(problems.stream().anyMatch(p -> p.contains(c.expected())),
                    "expected a problem mentioning '" + c.expected() + "', got " + problems);
        }));
    }

    @Test
    void configurationKeysAndDurationsAreReadAsQuarkusDoes() {
        assertEquals("sapiens.batching.max-batch-size", app.keyOf("SAPIENS_BATCHING_MAX_BATCH_SIZE").orElseThrow());
        assertEquals("sapiens.execution.cuda-options.gpu_mem_limit",
                app.keyOf("SAPIENS_EXECUTION_CUDA_OPTIONS_GPU_MEM_LIMIT").orElseThrow());
        assertTrue(app.unknownVariable("SAPIENS_LIMITS_MAX_INFLIGHT").isPresent());
        // A map entry from the environment: quoted, or plain where application.properties names the key.
        assertEquals("sapiens.execution.cuda-options.gpu_mem_limit",
                app.keyOf("SAPIENS_EXECUTION_CUDA_OPTIONS__GPU_MEM_LIMIT__").orElseThrow());
        assertEquals(java.util.Optional.empty(), app.ignoredMapVariable("SAPIENS_EXECUTION_CUDA_OPTIONS__GPU_MEM_LIMIT__"));
        assertEquals(java.util.Optional.empty(), app.ignoredMapVariable("SAPIENS_EXECUTION_CUDA_OPTIONS_ARENA_EXTEND_STRATEGY"));
        assertTrue(app.ignoredMapVariable("SAPIENS_EXECUTION_CUDA_OPTIONS_GPU_MEM_LIMIT").orElseThrow()
                .endsWith("quote the key: SAPIENS_EXECUTION_CUDA_OPTIONS__GPU_MEM_LIMIT__"));
        assertEquals("sapiens.execution.tensorrt-options.trt_fp16_enable",
                app.keyOf("SAPIENS_EXECUTION_TENSORRT_OPTIONS__TRT_FP16_ENABLE__").orElseThrow());
        assertEquals("photos", app.withEnvironment(Map.of("SAPIENS_STORAGE_ALLOWED_BUCKETS", "photos"))
                .get("sapiens.storage.allowed-buckets"));
        assertEquals("", app.get("sapiens.storage.allowed-buckets"));
        AppConfig pod = app.withEnvironment(Map.of("SAPIENS_LIMITS_REQUEST_TIMEOUT", "30s", "SAPIENS_BATCHING_MAX_DELAY",
                "5ms", "SAPIENS_SHUTDOWN_TIMEOUT", "PT1M30S", "SAPIENS_LIMITS_MEMORY_BUDGET", "70M"));
        assertEquals(Duration.ofSeconds(30), pod.getDuration("sapiens.limits.request-timeout"));
        assertEquals(Duration.ofMillis(5), pod.getDuration("sapiens.batching.max-delay"));
        assertEquals(Duration.ofSeconds(90), pod.getDuration("sapiens.shutdown.timeout"));
        assertEquals(70L << 20, pod.getBytes("sapiens.limits.memory-budget"));
        assertEquals(Duration.ofMinutes(90), goDuration("1h30m"));
        assertEquals(Duration.ofSeconds(1800), goDuration("1800s"));
    }
}
