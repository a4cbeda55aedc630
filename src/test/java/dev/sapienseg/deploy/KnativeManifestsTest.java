package dev.sapienseg.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.sapienseg.storage.StorageWebhook;
import dev.sapienseg.storage.StorageNotifications;
import io.fabric8.knative.duck.v1.Destination;
import io.fabric8.knative.duck.v1.DeliverySpec;
import io.fabric8.knative.duck.v1.KReference;
import io.fabric8.knative.eventing.v1.Broker;
import io.fabric8.knative.eventing.v1.Trigger;
import io.fabric8.knative.serving.v1.RevisionSpec;
import io.fabric8.knative.serving.v1.Service;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.openshift.api.model.monitoring.v1.PodMonitor;
import io.fabric8.knative.sources.v1beta1.KafkaSource;
import io.fabric8.knative.sources.v1alpha1.IntegrationSource;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvFromSource;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HTTPGetAction;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;

/**
 * Keeps knative/ honest: every manifest parses into typed fabric8 objects with no unknown field, every overlay renders
 * as {@code kubectl apply -k} would, and the numbers that must agree with the application (port, health paths, event
 * types, batch size, concurrency, timeouts, model-load budget, body limits, variable names) are read from
 * application.properties and {@code SapiensConfig} and compared, so a change on either side fails the build.
 * Plain JUnit, no Quarkus boot.
 */
class KnativeManifestsTest {

    static final Path ROOT = Path.of("knative");
    static final Path APPLICATION_PROPERTIES = Path.of("src/main/resources/application.properties");
    static final Path FEATURES_PATCH = ROOT.resolve("cluster/config-features-patch.yaml");
    static final Path IMAGES_COMPONENT = ROOT.resolve("images");
    static final Path README = ROOT.resolve("README.md");

    /**
     * How long a pod may take from container start to a loaded, warmed-up model (knative/README.md): the largest
     * preset (hf-0.6b, 2.7 GB) downloaded at 2 MB/s is 23 minutes, plus loading and the cuDNN EXHAUSTIVE warm-up.
     */
    static final Duration MODEL_LOAD_BUDGET = Duration.ofMinutes(27);
    /** What progress-deadline must leave beyond the startup probe: GPU node scale-up and pulling a CUDA image. */
    static final Duration NODE_AND_PULL_MARGIN = Duration.ofMinutes(5);
    /** Knative's default max-revision-timeout-seconds (config-defaults); a larger timeoutSeconds is refused. */
    static final long KNATIVE_MAX_REVISION_TIMEOUT_SECONDS = 600;
    /** queue-proxy's drain before the user container gets SIGTERM (Knative's network.DefaultDrainTimeout). */
    static final Duration QUEUE_PROXY_DRAIN = Duration.ofSeconds(30);
    /** Ports queue-proxy and Knative reserve in the pod. */
    static final Set<Integer> RESERVED_PORTS = Set.of(8012, 8013, 8022, 9090, 9091, 8008);
    /** Container port names Knative accepts. */
    static final Set<String> PORT_NAMES = Set.of("", "http1", "h2c");
    /** Pod fields Knative's webhook refuses (the grace period is the revision's timeoutSeconds). */
    static final List<String> FORBIDDEN_POD_FIELDS = List.of("terminationGracePeriodSeconds", "activeDeadlineSeconds",
            "restartPolicy", "hostNetwork", "hostPID", "hostIPC", "nodeName");
    /** The type a KafkaSource gives records that are not CloudEvents (MinIO's JSON). */
    static final String KAFKA_EVENT_TYPE = "dev.knative.kafka.event";

    /** Typed classes for every kind the manifests may hold. */
    static final Map<String, Class<? extends HasMetadata>> TYPES = Map.ofEntries(
            Map.entry("serving.knative.dev/v1/Service", Service.class),
            Map.entry("eventing.knative.dev/v1/Broker", Broker.class),
            Map.entry("eventing.knative.dev/v1/Trigger", Trigger.class),
            Map.entry("sources.knative.dev/v1beta1/KafkaSource", KafkaSource.class),
            Map.entry("sources.knative.dev/v1alpha1/IntegrationSource", IntegrationSource.class),
            Map.entry("networking.k8s.io/v1/NetworkPolicy", NetworkPolicy.class),
            Map.entry("monitoring.coreos.com/v1/PodMonitor", PodMonitor.class),
            Map.entry("v1/Namespace", Namespace.class),
            Map.entry("v1/ConfigMap", ConfigMap.class),
            Map.entry("v1/PersistentVolumeClaim", PersistentVolumeClaim.class),
            Map.entry("batch/v1/Job", io.fabric8.kubernetes.api.model.batch.v1.Job.class));

    static AppConfig app;

    /** The function's image name, as knative/images sets it (the one place to retarget images). */
    static String functionImageName() {
        return Kustomize.load(IMAGES_COMPONENT).imagesOrEmpty().get(0).newName();
    }
    static Map<Path, List<ObjectNode>> overlays;
    /** knative/backfill: a Job applied next to a function overlay, not a function overlay itself. */
    static List<ObjectNode> backfill;
    static Set<Path> filesRead;
    static String functionImage;

    @BeforeAll
    static void render() {
        app = AppConfig.load(APPLICATION_PROPERTIES);
        Kustomize.Kustomization images = Kustomize.load(IMAGES_COMPONENT);
        assertEquals("Component", images.kind(), "knative/images is the one place images are retargeted");
        assertEquals(1, images.imagesOrEmpty().size(), "knative/images names the function's image");
        functionImage = images.imagesOrEmpty().get(0).newName();
        assertNotNull(functionImage, "knative/images: newName (your registry)");
        overlays = new LinkedHashMap<>();
        filesRead = new TreeSet<>();
        for (Path dir : Kustomize.kustomizationDirs(ROOT)) {
            Kustomize.Kustomization k = Kustomize.load(dir);
            if (!"Kustomization".equals(k.kind())) {
                filesRead.add(dir.resolve(Kustomize.FILE).normalize()); // a component, read by the overlays
            } else if (dir.equals(ROOT.resolve("base").normalize())) {
                Kustomize.build(dir, filesRead); // renders on its own, but deploys no function
            } else if (dir.equals(ROOT.resolve("backfill").normalize())) {
                backfill = Kustomize.build(dir, filesRead);
            } else {
                overlays.put(dir, Kustomize.build(dir, filesRead));
            }
        }
    }

    // --- the tests -----------------------------------------------------------------------------------------------

    @Test
    void theDocumentedOverlaysExistAndRender() {
        Set<String> names = new TreeSet<>();
        overlays.keySet().forEach(p -> names.add(p.getFileName().toString()));
        assertTrue(names.containsAll(Set.of("gpu", "cpu", "gpu-warm", "gpu-pvc", "minio", "monitoring", "aws")), "overlays: " + names);
        for (Map.Entry<Path, List<ObjectNode>> e : overlays.entrySet()) {
            assertFalse(functionServices(typed(e.getValue(), new ArrayList<>())).isEmpty(),
                    e.getKey() + " deploys no function Service");
        }
    }

    @Test
    void theBackfillJobRunsTheCommandAgainstTheBrokerWithTheFunctionsStorageSettings() {
        List<String> problems = new ArrayList<>();
        List<HasMetadata> objects = typed(backfill, problems);
        assertEquals(List.of(), problems);
        io.fabric8.kubernetes.api.model.batch.v1.Job job = objects.stream()
                .filter(io.fabric8.kubernetes.api.model.batch.v1.Job.class::isInstance)
                .map(io.fabric8.kubernetes.api.model.batch.v1.Job.class::cast).findFirst().orElseThrow();
        var pod = job.getSpec().getTemplate().getSpec();
        var c = pod.getContainers().get(0);
        assertEquals(functionImage + ":cpu", c.getImage(), "the CPU image: no GPU for listing and sending");
        // The arguments are the command's own: parsed by its picocli definition, every option known.
        dev.sapienseg.backfill.BackfillCommand command = new dev.sapienseg.backfill.BackfillCommand(System.out, System.err, Map.of());
        List<String> args = c.getArgs();
        assertEquals("backfill", args.get(0));
        var parsed = new picocli.CommandLine(command).parseArgs(args.subList(1, args.size()).toArray(String[]::new));
        String sink = parsed.matchedOptionValue("--sink", null).toString();
        String namespace = job.getMetadata().getNamespace();
        assertEquals("http://broker-ingress.knative-eventing.svc.cluster.local/" + namespace + "/default", sink,
                "the Broker of knative/base, in the namespace the Job runs in");
        assertEquals(Set.of("sapiens-seg-storage", "sapiens-seg-s3"), c.getEnvFrom().stream()
                .map(e -> e.getConfigMapRef() != null ? e.getConfigMapRef().getName() : e.getSecretRef().getName())
                .collect(java.util.stream.Collectors.toSet()), "the function's storage settings and credentials");
        assertEquals(Boolean.FALSE, pod.getAutomountServiceAccountToken());
        assertEquals(Boolean.TRUE, c.getSecurityContext().getReadOnlyRootFilesystem());
        assertTrue(pod.getVolumes().stream().anyMatch(v -> v.getEmptyDir() != null)
                && c.getVolumeMounts().stream().anyMatch(m -> m.getMountPath().equals("/tmp")), "a writable /tmp");
        assertTrue(List.of("OnFailure", "Never").contains(pod.getRestartPolicy()));
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
    void everyYamlFileIsReadAndParsesIntoTypedObjectsWithoutUnknownFields() throws IOException {
        List<String> problems = new ArrayList<>();
        List<Path> yamls;
        try (Stream<Path> s = Files.walk(ROOT)) {
            yamls = s.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml")).map(Path::normalize)
                    .sorted().toList();
        }
        for (Path file : yamls) {
            if (file.equals(OPERATOR_FEATURES.normalize())) {
                continue; // the Operator's CR has no typed model here: theOperatorsKnativeServingEnablesTheSameFlags
            }
            if (!filesRead.contains(file) && !file.equals(FEATURES_PATCH.normalize())) {
                problems.add(file + " is referenced by no kustomization");
            }
            if (file.getFileName().toString().equals(Kustomize.FILE)) {
                continue; // read as typed records by Kustomize.load (unknown fields fail there)
            }
            JsonNode tree = Kustomize.YAML.readTree(file.toFile());
            if (tree != null && tree.isArray()) {
                continue; // a JSON 6902 patch: applied (and its ops checked) when its overlay renders
            }
            for (ObjectNode doc : Kustomize.readDocuments(file)) {
                if (doc.has("apiVersion") && doc.has("kind")) {
                    typed(doc, file.toString(), problems);
                } else {
                    problems.add(file + ": a document without apiVersion and kind");
                }
            }
        }
        assertEquals(List.of(), problems);
    }

    @Test
    void theFeatureFlagsPatchEnablesExactlyWhatTheServicesNeedAndTheReadmeNamesThem() throws IOException {
        ConfigMap features = featuresPatch();
        assertEquals("config-features", features.getMetadata().getName());
        assertEquals("knative-serving", features.getMetadata().getNamespace());
        Set<String> needed = new TreeSet<>();
        for (List<ObjectNode> nodes : overlays.values()) {
            for (Service s : functionServices(typed(nodes, new ArrayList<>()))) {
                needed.addAll(neededFlags(s.getSpec().getTemplate().getSpec()));
            }
        }
        Set<String> enabled = new TreeSet<>();
        features.getData().forEach((k, v) -> {
            assertEquals("enabled", v, k);
            enabled.add(k);
        });
        assertEquals(needed, enabled, "knative/cluster/config-features-patch.yaml");
        String readme = Files.readString(README);
        for (String flag : enabled) {
            assertTrue(readme.contains(flag), "knative/README.md does not mention " + flag);
        }
    }

    @Test
    void theReadmeNamesEveryOverlayAndTheWebhookPath() throws IOException {
        String readme = Files.readString(README);
        for (Path dir : overlays.keySet()) {
            String command = "kubectl apply -k knative/" + dir.getFileName();
            assertTrue(readme.contains(command), "knative/README.md lacks `" + command + "`");
        }
        assertTrue(readme.contains(StorageWebhook.PATH), "knative/README.md lacks the webhook path");
        assertTrue(readme.contains(MODEL_LOAD_BUDGET.toMinutes() + " minutes"),
                "knative/README.md states the model-load budget");
    }

    @Test
    void imagesAreRetargetedInOnePlace() {
        for (Map.Entry<Path, List<ObjectNode>> e : overlays.entrySet()) {
            for (Service s : functionServices(typed(e.getValue(), new ArrayList<>()))) {
                String image = s.getSpec().getTemplate().getSpec().getContainers().get(0).getImage();
                assertTrue(image.startsWith(functionImage + ":"), e.getKey() + ": " + image);
            }
        }
        assertEquals("registry.example.com/x:gpu", Kustomize.retargetImage("sapiens-seg:gpu",
                new Kustomize.Image("sapiens-seg", "registry.example.com/x", null, null)));
        assertEquals(null, Kustomize.retargetImage("other/sapiens-seg:gpu",
                new Kustomize.Image("sapiens-seg", "registry.example.com/x", null, null)));
        assertEquals("localhost:5000/sapiens-seg", Kustomize.imageName("localhost:5000/sapiens-seg:cpu"));
    }

    // --- proof that the checks can fail ------------------------------------------------------------------------

    @Test
    void aMisspelledFieldIsCaughtAnywhereInTheObjectGraph() throws IOException {
        String service = Files.readString(ROOT.resolve("gpu/service-gpu.yaml"));
        assertTrue(unknownFields(service).isEmpty(), "the real file has no unknown field");

        String topLevel = service.replace("containerConcurrency:", "containerConcurency:");
        assertTrue(unknownFields(topLevel).stream().anyMatch(p -> p.contains("containerConcurency")),
                "spec.template.spec.containerConcurency: " + unknownFields(topLevel));

        String nested = service.replaceFirst("failureThreshold: 180", "failureTreshold: 180");
        assertTrue(unknownFields(nested).stream().anyMatch(p -> p.contains("startupProbe") && p.contains("failureTreshold")),
                "startupProbe.failureTreshold: " + unknownFields(nested));

        String deep = service.replace("optional: true", "optinal: true");
        assertTrue(unknownFields(deep).stream().anyMatch(p -> p.contains("secretKeyRef") && p.contains("optinal")),
                "env[].valueFrom.secretKeyRef.optinal: " + unknownFields(deep));

        String quantity = service.replace("memory: 16Gi", "memory: {amount: 16, fromat: Gi}");
        assertFalse(unknownFields(quantity).isEmpty(), "a Quantity with a stray field");

        assertThrows(AssertionError.class, () -> Kustomize.readDocuments("a: 1\na: 2\n", "duplicate keys"));
    }

    @Test
    void aMisspelledKustomizationFieldOrMissingPathIsCaught(@org.junit.jupiter.api.io.TempDir Path tmp) throws IOException {
        Files.writeString(tmp.resolve(Kustomize.FILE),
                "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresource:\n  - a.yaml\n");
        assertThrows(AssertionError.class, () -> Kustomize.load(tmp));
        Files.writeString(tmp.resolve(Kustomize.FILE),
                "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - missing.yaml\n");
        AssertionError missing = assertThrows(AssertionError.class, () -> Kustomize.build(tmp, new TreeSet<>()));
        assertTrue(missing.getMessage().contains("missing.yaml"), missing.getMessage());
    }

    /** Each mutation of the rendered GPU overlay must be reported by {@link #check}, naming what is wrong. */
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
                        "quarkus.shutdown.timeout=", "quarkus.shutdown.timeout=5m", "does not cover queue-proxy's drain"),
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
            AppConfig original = app;
            app = AppConfig.load(file);
            try {
                List<ObjectNode> nodes = overlays.get(ROOT.resolve(c.overlay()).normalize());
                List<String> problems = check(nodes);
                assertTrue(problems.stream().anyMatch(p -> p.contains(c.expected())),
                        "expected a problem mentioning '" + c.expected() + "', got " + problems);
            } finally {
                app = original;
            }
        }));
    }

    @Test
    void theMinioTriggerMustSelectItsKafkaSourceByExtension() {
        List<ObjectNode> minio = overlays.get(ROOT.resolve("minio").normalize());
        assertEquals(List.of(), check(minio));

        List<ObjectNode> typeOnly = minio.stream().map(ObjectNode::deepCopy).toList();
        triggerAttributes(typeOnly, "sapiens-seg-minio").remove("sapiensorigin");
        assertTrue(check(typeOnly).stream().anyMatch(p -> p.contains("dev.knative.kafka.event: the function does not handle")),
                "a Trigger on dev.knative.kafka.event alone: " + check(typeOnly));

        List<ObjectNode> untagged = minio.stream().map(ObjectNode::deepCopy).toList();
        ((ObjectNode) object(untagged, "KafkaSource", "minio-photos").at("/spec/ceOverrides/extensions"))
                .put("sapiensorigin", "kafka");
        assertTrue(check(untagged).stream().anyMatch(p -> p.contains("sapiens-seg-minio: type dev.knative.kafka.event")),
                "a Trigger whose extension no KafkaSource sets: " + check(untagged));

        List<ObjectNode> badName = minio.stream().map(ObjectNode::deepCopy).toList();
        ((ObjectNode) object(badName, "KafkaSource", "minio-photos").at("/spec/ceOverrides/extensions"))
                .put("sapiens-origin", "minio");
        assertTrue(check(badName).stream().anyMatch(p -> p.contains("extension name sapiens-origin")), check(badName).toString());
    }

    @Test
    void hardeningThatGoesMissingIsReported() {
        List<ObjectNode> gpu = overlays.get(ROOT.resolve("gpu").normalize());
        assertEquals(List.of(), check(gpu));

        List<ObjectNode> writable = gpu.stream().map(ObjectNode::deepCopy).toList();
        ((ObjectNode) object(writable, "Service", "sapiens-seg").at("/spec/template/spec/containers/0/securityContext"))
                .remove("readOnlyRootFilesystem");
        ((ObjectNode) object(writable, "Service", "sapiens-dead-letter").at("/spec/template/spec"))
                .put("automountServiceAccountToken", true);
        ((ObjectNode) object(writable, "Service", "sapiens-dead-letter").at("/spec/template/spec/containers/0"))
                .put("image", "gcr.io/knative-releases/knative.dev/eventing/cmd/event_display:latest");
        ArrayNode mounts = (ArrayNode) object(writable, "Service", "sapiens-seg")
                .at("/spec/template/spec/containers/0/volumeMounts");
        for (int i = mounts.size() - 1; i >= 0; i--) {
            if (mounts.get(i).path("mountPath").asText().equals("/tmp")) {
                mounts.remove(i);
            }
        }
        List<String> problems = check(writable);
        assertTrue(problems.stream().anyMatch(p -> p.contains("a writable emptyDir must be mounted at /tmp")),
                problems.toString());
        assertTrue(problems.stream().anyMatch(p -> p.contains("sapiens-seg: container sapiens-seg:"
                + " securityContext.readOnlyRootFilesystem")), problems.toString());
        assertTrue(problems.stream().anyMatch(p -> p.contains("sapiens-dead-letter: automountServiceAccountToken")),
                problems.toString());
        assertTrue(problems.stream().anyMatch(p -> p.contains("event_display:latest must be pinned")), problems.toString());

        List<ObjectNode> open = gpu.stream().map(ObjectNode::deepCopy).toList();
        ArrayNode rules = (ArrayNode) object(open, "NetworkPolicy", "sapiens-seg-ingress").at("/spec/ingress");
        ((ArrayNode) rules.get(0).get("ports")).addObject().put("port", 8080).put("protocol", "TCP");
        rules.addObject().putArray("ports").addObject().put("port", 8012);
        problems = check(open);
        assertTrue(problems.stream().anyMatch(p -> p.contains("admits knative-serving to port")
                && p.contains("8080")), problems.toString());
        assertTrue(problems.stream().anyMatch(p -> p.contains("a rule without from or ports admits everyone")),
                problems.toString());

        List<ObjectNode> unselected = gpu.stream().map(ObjectNode::deepCopy).toList();
        ((ObjectNode) object(unselected, "NetworkPolicy", "sapiens-seg-ingress").at("/spec/podSelector/matchLabels"))
                .put("serving.knative.dev/service", "another");
        problems = check(unselected);
        assertTrue(problems.stream().anyMatch(p -> p.contains("no NetworkPolicy with policyTypes [Ingress] selects")),
                problems.toString());

        List<ObjectNode> aws = overlays.get(ROOT.resolve("aws").normalize()).stream().map(ObjectNode::deepCopy).toList();
        assertEquals(List.of(), check(aws));
        ((ObjectNode) object(aws, "IntegrationSource", "sapiens-photos-uploads").at("/spec/aws/sqs"))
                .put("arn", "arn:aws:s3:::my-queue");
        ((ObjectNode) object(aws, "IntegrationSource", "sapiens-photos-uploads").at("/spec/aws")).remove("auth");
        ((ObjectNode) object(aws, "Trigger", "sapiens-seg-aws-sqs").at("/spec/filter/attributes"))
                .put("type", "dev.knative.connector.event.aws-sqs");
        problems = check(aws);
        assertTrue(problems.stream().anyMatch(p -> p.contains("arn must be a queue name")), problems.toString());
        assertTrue(problems.stream().anyMatch(p -> p.contains("spec.aws.auth needs")), problems.toString());
        assertTrue(problems.stream().anyMatch(p -> p.contains("Trigger on dev.knative.eventing.aws-sqs")), problems.toString());

        List<ObjectNode> monitoring = overlays.get(ROOT.resolve("monitoring").normalize()).stream()
                .map(ObjectNode::deepCopy).toList();
        assertEquals(List.of(), check(monitoring));
        ((ObjectNode) object(monitoring, "PodMonitor", "sapiens-seg").at("/spec/podMetricsEndpoints/0"))
                .put("port", "http1").put("path", "/metrics");
        ((ObjectNode) object(monitoring, "NetworkPolicy", "sapiens-seg-prometheus").at("/spec/ingress/0/ports/0"))
                .put("port", 9091);
        problems = check(monitoring);
        assertTrue(problems.stream().anyMatch(p -> p.contains("port must be user-port")), problems.toString());
        assertTrue(problems.stream().anyMatch(p -> p.contains("path must be /q/metrics")), problems.toString());
        assertTrue(problems.stream().anyMatch(p -> p.contains("no NetworkPolicy lets namespace monitoring")),
                problems.toString());
    }

    @Test
    void aFeatureFlagMissingFromThePatchIsReported() {
        ConfigMap features = featuresPatch();
        features.getData().remove("kubernetes.podspec-tolerations");
        List<Service> gpu = functionServices(typed(overlays.get(ROOT.resolve("gpu").normalize()), new ArrayList<>()));
        Set<String> missing = new TreeSet<>(neededFlags(gpu.get(0).getSpec().getTemplate().getSpec()));
        missing.removeAll(features.getData().keySet());
        assertEquals(Set.of("kubernetes.podspec-tolerations"), missing);
    }

    @Test
    void configurationKeysAndDurationsAreReadAsQuarkusDoes() {
        assertEquals("sapiens.batching.max-batch-size", app.keyOf("SAPIENS_BATCHING_MAX_BATCH_SIZE").orElseThrow());
        assertEquals("sapiens.execution.cuda-options.gpu_mem_limit",
                app.keyOf("SAPIENS_EXECUTION_CUDA_OPTIONS_GPU_MEM_LIMIT").orElseThrow());
        assertTrue(app.unknownVariable("SAPIENS_LIMITS_MAX_INFLIGHT").isPresent());
        assertEquals("photos", app.withEnvironment(Map.of("SAPIENS_STORAGE_ALLOWED_BUCKETS", "photos"))
                .get("sapiens.storage.allowed-buckets"));
        assertEquals("", app.get("sapiens.storage.allowed-buckets"));
        assertEquals(Duration.ofSeconds(30), AppConfig.duration("30s"));
        assertEquals(Duration.ofMillis(5), AppConfig.duration("5ms"));
        assertEquals(Duration.ofSeconds(90), AppConfig.duration("PT1M30S"));
        assertEquals(70L << 20, AppConfig.memorySize("70M"));
        assertEquals(Duration.ofMinutes(90), goDuration("1h30m"));
        assertEquals(Duration.ofSeconds(1800), goDuration("1800s"));
    }

    // --- the checks --------------------------------------------------------------------------------------------

    /** Everything wrong with one rendered overlay (empty when it is right). */
    static List<String> check(List<ObjectNode> nodes) {
        List<String> problems = new ArrayList<>();
        List<HasMetadata> objects = typed(nodes, problems);
        List<Service> functions = functionServices(objects);
        if (functions.isEmpty()) {
            problems.add("no Service runs " + functionImage);
        }
        for (Service s : functions) {
            checkFunction(s, objects, problems);
        }
        AppConfig config = functions.isEmpty() ? app : podConfig(functions.get(0), objects, new ArrayList<>());
        for (HasMetadata o : objects) {
            if (o instanceof Trigger t) {
                checkTrigger(t, objects, functions, config, problems);
            } else if (o instanceof Broker b) {
                checkDelivery("Broker " + name(b), b.getSpec().getDelivery(), objects, functions, problems);
            } else if (o instanceof KafkaSource k) {
                checkKafkaSource(k, objects, functions, problems);
            } else if (o instanceof IntegrationSource i) {
                checkIntegrationSource(i, objects, problems);
            } else if (o instanceof Service service) {
                RevisionSpec pod = service.getSpec().getTemplate().getSpec();
                String where = "Service " + name(service) + ": ";
                if (!Boolean.FALSE.equals(pod.getAutomountServiceAccountToken())) {
                    problems.add(where + "automountServiceAccountToken must be false (nothing here calls the"
                            + " Kubernetes API; a mounted token is only something to steal)");
                }
                for (Container c : pod.getContainers()) {
                    checkContainerSecurity(where, c, problems);
                    if (!functions.contains(service) && !PINNED_IMAGE.matcher(c.getImage()).matches()) {
                        problems.add(where + "image " + c.getImage() + " must be pinned by digest (@sha256:...)");
                    }
                }
            }
        }
        checkNetworkPolicies(objects, functions, problems);
        for (HasMetadata o : objects) {
            if (o instanceof PodMonitor monitor) {
                checkPodMonitor(monitor, objects, functions, config, problems);
            }
        }
        checkBodyLimits(nodes, config, problems);
        return problems;
    }

    static void checkFunction(Service service, List<HasMetadata> objects, List<String> problems) {
        String where = "Service " + name(service) + ": ";
        RevisionSpec pod = service.getSpec().getTemplate().getSpec();
        Map<String, String> annotations = service.getSpec().getTemplate().getMetadata() == null ? Map.of()
                : Objects.requireNonNullElse(service.getSpec().getTemplate().getMetadata().getAnnotations(), Map.of());
        if (pod.getContainers().size() != 1) {
            problems.add(where + "one container expected");
            return;
        }
        Container c = pod.getContainers().get(0);
        AppConfig cfg = podConfig(service, objects, problems);
        checkNodeSelector(where, pod.getNodeSelector(), problems);

        // Knative refuses these pod fields; the grace period is timeoutSeconds.
        ObjectNode podTree = Kustomize.YAML.valueToTree(pod);
        for (String field : FORBIDDEN_POD_FIELDS) {
            if (podTree.has(field)) {
                problems.add(where + field + " is refused by Knative (it sets the grace period to timeoutSeconds)");
            }
        }

        // Port: one, the application's, not reserved, a name Knative accepts.
        int httpPort = Integer.parseInt(cfg.getOrDefault("quarkus.http.port", "8080"));
        List<ContainerPort> ports = Objects.requireNonNullElse(c.getPorts(), List.of());
        if (ports.size() != 1) {
            problems.add(where + "exactly one container port expected, found " + ports.size());
        }
        int containerPort = ports.isEmpty() ? 8080 : ports.get(0).getContainerPort();
        if (containerPort != httpPort) {
            problems.add(where + "containerPort " + containerPort + " is not quarkus.http.port " + httpPort);
        }
        if (RESERVED_PORTS.contains(containerPort)) {
            problems.add(where + "containerPort " + containerPort + " is reserved by queue-proxy");
        }
        if (!ports.isEmpty() && !PORT_NAMES.contains(Objects.requireNonNullElse(ports.get(0).getName(), ""))) {
            problems.add(where + "port name must be empty, http1 or h2c");
        }

        // A read-only root needs a writable /tmp (java.io.tmpdir: the JVM's and Vert.x's files): an emptyDir.
        VolumeMount tmpMount = Objects.requireNonNullElse(c.getVolumeMounts(), List.<VolumeMount>of()).stream()
                .filter(m -> m.getMountPath().equals("/tmp") && !Boolean.TRUE.equals(m.getReadOnly())).findFirst()
                .orElse(null);
        boolean tmpIsEmptyDir = tmpMount != null && Objects.requireNonNullElse(pod.getVolumes(), List.<Volume>of())
                .stream().anyMatch(v -> v.getName().equals(tmpMount.getName()) && v.getEmptyDir() != null);
        if (!tmpIsEmptyDir) {
            problems.add(where + "a writable emptyDir must be mounted at /tmp (the root file system is read-only)");
        }

        // Probes: the SmallRye Health endpoints, on the http port.
        checkProbe(where, "startupProbe", c.getStartupProbe(), healthPath(cfg, "startup-path", "started"), containerPort, problems);
        checkProbe(where, "readinessProbe", c.getReadinessProbe(), healthPath(cfg, "readiness-path", "ready"), containerPort, problems);
        checkProbe(where, "livenessProbe", c.getLivenessProbe(), healthPath(cfg, "liveness-path", "live"), containerPort, problems);

        // Batching and concurrency: max-batch-size <= containerConcurrency <= max-in-flight.
        int batch = cfg.getInt("sapiens.batching.max-batch-size");
        int maxInFlight = cfg.getInt("sapiens.limits.max-in-flight");
        long concurrency = pod.getContainerConcurrency() == null ? 0 : pod.getContainerConcurrency();
        if (concurrency < batch) {
            problems.add(where + "containerConcurrency " + concurrency + " is below sapiens.batching.max-batch-size "
                    + batch + " (batches could never fill; 0 = unlimited is not allowed either)");
        }
        if (concurrency > maxInFlight) {
            problems.add(where + "containerConcurrency " + concurrency + " exceeds sapiens.limits.max-in-flight "
                    + maxInFlight + " (the excess would be answered 429)");
        }

        // Autoscaling: concurrency metric; target <= containerConcurrency; the effective target holds a full batch.
        String metric = annotations.getOrDefault("autoscaling.knative.dev/metric", "concurrency");
        if (!metric.equals("concurrency")) {
            problems.add(where + "autoscaling metric must be concurrency (the batcher is sized in requests)");
        }
        String targetText = annotations.get("autoscaling.knative.dev/target");
        if (targetText == null) {
            problems.add(where + "autoscaling.knative.dev/target is not set");
        } else {
            double target = Double.parseDouble(targetText);
            double utilization = Double.parseDouble(
                    annotations.getOrDefault("autoscaling.knative.dev/target-utilization-percentage", "70"));
            if (target > concurrency) {
                problems.add(where + "autoscaling target " + target + " exceeds containerConcurrency " + concurrency);
            }
            if (target * utilization / 100 < batch) {
                problems.add(where + "effective autoscaling target " + target * utilization / 100
                        + " is below the batch size " + batch + ": scale-out would keep batches from filling");
            }
        }
        int minScale = Integer.parseInt(annotations.getOrDefault("autoscaling.knative.dev/min-scale", "0"));
        int maxScale = Integer.parseInt(annotations.getOrDefault("autoscaling.knative.dev/max-scale", "0"));
        if (maxScale > 0 && minScale > maxScale) {
            problems.add(where + "min-scale exceeds max-scale");
        }
        if (minScale == 0) {
            if (!"kpa.autoscaling.knative.dev".equals(
                    annotations.getOrDefault("autoscaling.knative.dev/class", "kpa.autoscaling.knative.dev"))) {
                problems.add(where + "only the KPA scales to zero");
            }
            if (!annotations.containsKey("autoscaling.knative.dev/scale-to-zero-pod-retention-period")) {
                problems.add(where + "scaling to zero without scale-to-zero-pod-retention-period: every idle minute "
                        + "costs a model reload");
            }
        }

        // Timeouts.
        long timeout = pod.getTimeoutSeconds() == null ? 300 : pod.getTimeoutSeconds();
        problems.addAll(requestTimeoutProblems(where + "timeoutSeconds", timeout, cfg));
        if (timeout > KNATIVE_MAX_REVISION_TIMEOUT_SECONDS) {
            problems.add(where + "timeoutSeconds " + timeout + " exceeds Knative's default max-revision-timeout-seconds");
        }
        Duration shutdown = cfg.getDuration("quarkus.shutdown.timeout");
        if (Boolean.parseBoolean(cfg.getOrDefault("quarkus.shutdown.delay-enabled", "false"))) {
            shutdown = shutdown.plus(cfg.getDuration("quarkus.shutdown.delay"));
        }
        if (timeout < QUEUE_PROXY_DRAIN.plus(shutdown).toSeconds()) {
            problems.add(where + "timeoutSeconds " + timeout + " (the pod's grace period) does not cover queue-proxy's "
                    + "drain + quarkus.shutdown.delay + quarkus.shutdown.timeout = " + QUEUE_PROXY_DRAIN.plus(shutdown));
        }

        // Model loading: the startup window covers the budget, the progress deadline covers the window.
        Probe startup = c.getStartupProbe();
        if (startup != null) {
            long period = startup.getPeriodSeconds() == null ? 10 : startup.getPeriodSeconds();
            long failures = startup.getFailureThreshold() == null ? 3 : startup.getFailureThreshold();
            long delay = startup.getInitialDelaySeconds() == null ? 0 : startup.getInitialDelaySeconds();
            Duration window = Duration.ofSeconds(delay + failures * period);
            if (window.compareTo(MODEL_LOAD_BUDGET) < 0) {
                problems.add(where + "startup probe window " + window + " is shorter than the model-load budget "
                        + MODEL_LOAD_BUDGET);
            }
            String deadlineText = annotations.get("serving.knative.dev/progress-deadline");
            Duration deadline = deadlineText == null ? Duration.ofSeconds(600) : goDuration(deadlineText);
            if (deadline.compareTo(window.plus(NODE_AND_PULL_MARGIN)) < 0) {
                problems.add(where + "progress-deadline " + deadline + " does not cover the startup window " + window
                        + " plus " + NODE_AND_PULL_MARGIN + " for node scale-up and the image pull");
            }
        }

        // GPU or CPU, from the image tag.
        String image = c.getImage();
        String tag = image.substring(Kustomize.imageName(image).length()).replaceFirst("^:", "").split("@")[0];
        Map<String, Quantity> limits = c.getResources() == null || c.getResources().getLimits() == null ? Map.of()
                : c.getResources().getLimits();
        String provider = cfg.get("sapiens.execution.provider").toLowerCase(Locale.ROOT);
        if (tag.equals("gpu")) {
            Quantity gpus = limits.get("nvidia.com/gpu");
            if (gpus == null || !gpus.getAmount().equals("1")) {
                problems.add(where + "a GPU image needs limits nvidia.com/gpu: 1, found " + gpus);
            }
            if (!provider.equals("cuda")) {
                problems.add(where + "a GPU image must run with SAPIENS_EXECUTION_PROVIDER=cuda, not " + provider);
            }
        } else if (tag.equals("cpu")) {
            if (limits.keySet().stream().anyMatch(k -> k.startsWith("nvidia.com/"))) {
                problems.add(where + "the CPU image asks for a GPU");
            }
            if (!provider.equals("cpu")) {
                problems.add(where + "the CPU image must run with the cpu provider, not " + provider);
            }
        } else {
            problems.add(where + "image tag must be gpu or cpu: " + image);
        }
        int intraOp = cfg.getInt("sapiens.execution.intra-op-threads");
        Quantity cpuRequest = c.getResources() == null || c.getResources().getRequests() == null ? null
                : c.getResources().getRequests().get("cpu");
        if (intraOp > 0 && cpuRequest != null && intraOp > Quantity.getAmountInBytes(cpuRequest).doubleValue()) {
            problems.add(where + "more ONNX Runtime threads (" + intraOp + ") than requested CPUs (" + cpuRequest + ")");
        }

        checkMemory(where, cfg, limits, provider, problems);
        checkDeadlines(where, cfg, timeout, provider, problems);

        // The model cache directory is a writable volume (emptyDir, or a claim that exists).
        String cacheDir = cfg.envValue("SAPIENS_MODEL_CACHE_DIR");
        if (cacheDir == null) {
            problems.add(where + "SAPIENS_MODEL_CACHE_DIR is not set (the volume for downloaded models)");
        } else {
            VolumeMount mount = Objects.requireNonNullElse(c.getVolumeMounts(), List.<VolumeMount>of()).stream()
                    .filter(m -> m.getMountPath().equals(cacheDir)).findFirst().orElse(null);
            Volume volume = mount == null ? null : Objects.requireNonNullElse(pod.getVolumes(), List.<Volume>of())
                    .stream().filter(v -> v.getName().equals(mount.getName())).findFirst().orElse(null);
            if (volume == null || Boolean.TRUE.equals(mount.getReadOnly())) {
                problems.add(where + "SAPIENS_MODEL_CACHE_DIR " + cacheDir + " is not a writable volume mount");
            } else if (volume.getPersistentVolumeClaim() != null) {
                String claim = volume.getPersistentVolumeClaim().getClaimName();
                if (find(objects, "PersistentVolumeClaim", claim) == null) {
                    problems.add(where + "PersistentVolumeClaim " + claim + " is not deployed");
                }
            } else if (volume.getEmptyDir() == null) {
                problems.add(where + "the model cache must be an emptyDir or a PersistentVolumeClaim");
            }
        }

        // Feature flags the pod spec needs must be on in the patch for cluster admins.
        Set<String> missing = new TreeSet<>(neededFlags(pod));
        missing.removeAll(featuresPatch().getData().keySet());
        if (!missing.isEmpty()) {
            problems.add(where + "needs config-features " + missing + ", not in " + FEATURES_PATCH);
        }
    }

    /**
     * Host memory the model takes in a pod, per preset and provider. CPU 0.3b: the measured peak RSS of the whole
     * service (JVM included) serving 1080p pictures one after another with a Sapiens-0.3B-shaped model of the real size
     * in the export's own form (ConvTranspose, as the hf-0.3b preset's file): 5.98 GB (bench/real_scale_benchmark.py;
     * 7.5 GB before memory patterns were turned off on the CPU). CUDA: an estimate (no GPU
     * here): the weights as read from the file (1.36 GB) plus the CUDA, cuBLAS and cuDNN libraries (about 2 GB).
     */
    static final Map<String, Long> MODEL_HOST_BYTES = Map.of(
            "hf-0.3b/cpu", 6_100L << 20,
            "hf-0.3b/cuda", 3_400L << 20);

    /**
     * One model run, per preset and provider, as measured: CPU 0.3b, the export as the preset's file has it, 1080p
     * pictures one at a time on 2 cores (bench/real_scale_benchmark.py; the CPU Service requests 4, so this is the slow
     * side). No GPU figure is claimed here.
     */
    static final Map<String, Duration> MODEL_RUN = Map.of("hf-0.3b/cpu", Duration.ofMillis(21_200));

    /**
     * With the model's measured run time, the deadlines the function derives (dev.sapienseg.pipeline.Deadlines) can be
     * met: a full pod's runs fit timeoutSeconds, a configured queue-timeout is not shorter than one run. The same
     * judgement the function logs at start-up, made here before anything is deployed.
     */
    static void checkDeadlines(String where, AppConfig cfg, long timeoutSeconds, String provider, List<String> problems) {
        Duration run = MODEL_RUN.get(cfg.get("sapiens.model.preset") + "/" + provider);
        if (run == null) {
            return;
        }
        String queue = cfg.get("sapiens.limits.queue-timeout");
        int devices = "cuda".equals(provider) ? cfg.get("sapiens.execution.device-ids").split(",").length : 1;
        dev.sapienseg.pipeline.Deadlines deadlines = new dev.sapienseg.pipeline.Deadlines(
                new dev.sapienseg.pipeline.Deadlines.Settings(
                        queue == null || queue.isBlank() ? java.util.Optional.empty() : java.util.Optional.of(AppConfig.duration(queue)),
                        cfg.getInt("sapiens.limits.retry-after-seconds"), Duration.ofSeconds(timeoutSeconds),
                        cfg.getInt("sapiens.limits.max-in-flight"), cfg.getInt("sapiens.batching.max-batch-size"),
                        cfg.getInt("sapiens.execution.sessions-per-device") * devices,
                        cfg.getDuration("sapiens.batching.max-delay")),
                new dev.sapienseg.pipeline.RunTimes(run));
        deadlines.problems().forEach(p -> problems.add(where + "with runs of " + run.toMillis() + " ms: " + p));
    }

    /** The JVM's own memory outside the heap (metaspace, code cache, threads, OpenCV's and ORT's libraries). */
    static final long JVM_BASELINE_BYTES = 512L << 20;

    /**
     * The pod's memory limit holds the model, the JVM's baseline, the Java heap's maximum (run-java.sh:
     * JAVA_MAX_RAM_PERCENTAGE of the limit) and sapiens.limits.memory-budget, which bounds the requests in flight
     * together (dev.sapienseg.pipeline.MemoryBound); and the budget admits one picture at the pixel limit with its mask.
     */
    /**
     * The platform's request timeout and ours: the function derives its queue wait from sapiens.limits.request-timeout,
     * so it must be the platform's; a configured queue-timeout must leave room for a run.
     */
    static List<String> requestTimeoutProblems(String where, long platformSeconds, AppConfig cfg) {
        List<String> problems = new ArrayList<>();
        Duration requestTimeout = cfg.getDuration("sapiens.limits.request-timeout");
        if (requestTimeout.toSeconds() != platformSeconds) {
            problems.add(where + " " + platformSeconds + " differs from sapiens.limits.request-timeout " + requestTimeout
                    + ": the function derives its queue wait from it (set SAPIENS_LIMITS_REQUEST_TIMEOUT)");
        }
        String queueTimeout = cfg.get("sapiens.limits.queue-timeout");
        if (queueTimeout != null && !queueTimeout.isBlank() && platformSeconds <= AppConfig.duration(queueTimeout).toSeconds()) {
            problems.add(where + " " + platformSeconds + " does not exceed sapiens.limits.queue-timeout " + queueTimeout);
        }
        return problems;
    }

    static void checkMemory(String where, AppConfig cfg, Map<String, Quantity> limits, String provider,
            List<String> problems) {
        Quantity memory = limits.get("memory");
        if (memory == null) {
            problems.add(where + "no memory limit: the request budget cannot be checked against one");
            return;
        }
        long limit = Quantity.getAmountInBytes(memory).longValue();
        String percentText = cfg.envValue("JAVA_MAX_RAM_PERCENTAGE");
        double percent = percentText == null ? 50 : Double.parseDouble(percentText);
        long heap = (long) (limit * percent / 100);
        long budget = AppConfig.memorySize(cfg.get("sapiens.limits.memory-budget"));
        String preset = String.valueOf(cfg.get("sapiens.model.preset"));
        Long model = MODEL_HOST_BYTES.get(preset + "/" + provider);
        if (model == null) {
            problems.add(where + "no known host memory for model preset " + preset + " on " + provider);
            return;
        }
        long needed = model + JVM_BASELINE_BYTES + heap + budget;
        if (needed > limit) {
            problems.add(where + "memory limit " + (limit >> 20) + " MiB is below model " + (model >> 20) + " + JVM "
                    + (JVM_BASELINE_BYTES >> 20) + " + heap " + (heap >> 20) + " (" + percent + " %) + memory-budget "
                    + (budget >> 20) + " = " + (needed >> 20) + " MiB");
        }
        long pixels = Long.parseLong(cfg.get("sapiens.limits.max-image-pixels"));
        long oneAtTheLimit = dev.sapienseg.pipeline.MemoryBound.estimate(pixels,
                AppConfig.memorySize(cfg.get("sapiens.limits.max-image-bytes")), java.util.EnumSet.of(dev.sapienseg.output.OutputKind.CLASS_PNG));
        if (budget < oneAtTheLimit) {
            problems.add(where + "memory-budget " + (budget >> 20) + " MiB cannot admit one picture at the pixel limit"
                    + " with its mask (" + (oneAtTheLimit >> 20) + " MiB): such pictures would always get 413");
        }
    }

    /**
     * Every container of every Service (the dead-letter sink too) runs as non-root, without privilege escalation or
     * capabilities, under the runtime's default seccomp profile: what Kubernetes' "restricted" Pod Security Standard
     * asks, so the manifests deploy into namespaces that enforce it.
     */
    static void checkContainerSecurity(String where, Container c, List<String> problems) {
        io.fabric8.kubernetes.api.model.SecurityContext sc = c.getSecurityContext();
        String container = where + "container " + c.getName() + ": ";
        if (sc == null) {
            problems.add(container + "no securityContext");
            return;
        }
        if (!Boolean.TRUE.equals(sc.getRunAsNonRoot())) {
            problems.add(container + "securityContext.runAsNonRoot must be true");
        }
        if (!Boolean.FALSE.equals(sc.getAllowPrivilegeEscalation())) {
            problems.add(container + "securityContext.allowPrivilegeEscalation must be false");
        }
        if (sc.getCapabilities() == null || !List.of("ALL").equals(sc.getCapabilities().getDrop())) {
            problems.add(container + "securityContext.capabilities.drop must be [ALL]");
        }
        if (sc.getSeccompProfile() == null || !"RuntimeDefault".equals(sc.getSeccompProfile().getType())) {
            problems.add(container + "securityContext.seccompProfile.type must be RuntimeDefault");
        }
        if (!Boolean.TRUE.equals(sc.getReadOnlyRootFilesystem())) {
            problems.add(container + "securityContext.readOnlyRootFilesystem must be true (writable paths are"
                    + " emptyDir volumes)");
        }
    }

    /**
     * A PodMonitor scrapes the application's metrics path on the port name Knative gives the user container in the pods
     * it makes ({@code user-port}), on pods of a function, and a NetworkPolicy lets its namespace in.
     */
    static void checkPodMonitor(PodMonitor monitor, List<HasMetadata> objects, List<Service> functions, AppConfig cfg,
            List<String> problems) {
        String where = "PodMonitor " + name(monitor) + ": ";
        Map<String, String> selector = monitor.getSpec().getSelector() == null ? Map.of()
                : Objects.requireNonNullElse(monitor.getSpec().getSelector().getMatchLabels(), Map.of());
        if (functions.stream().noneMatch(f -> Map.of("serving.knative.dev/service", name(f)).equals(selector))) {
            problems.add(where + "selects no function's pods (serving.knative.dev/service: <name>): " + selector);
        }
        String path = cfg.getOrDefault("quarkus.http.non-application-root-path", "/q") + "/"
                + cfg.getOrDefault("quarkus.micrometer.export.prometheus.path", "metrics");
        if (monitor.getSpec().getPodMetricsEndpoints().isEmpty()) {
            problems.add(where + "no podMetricsEndpoints");
        }
        for (io.fabric8.openshift.api.model.monitoring.v1.PodMetricsEndpoint e : monitor.getSpec().getPodMetricsEndpoints()) {
            if (!"user-port".equals(e.getPort())) {
                problems.add(where + "port must be user-port (Knative's name for the user container's port), not "
                        + e.getPort());
            }
            if (!path.equals(e.getPath())) {
                problems.add(where + "path must be " + path + ", not " + e.getPath());
            }
        }
        boolean admitted = objects.stream().filter(NetworkPolicy.class::isInstance).map(NetworkPolicy.class::cast)
                .flatMap(p -> p.getSpec().getIngress().stream())
                .anyMatch(r -> r.getFrom().stream().anyMatch(peer -> peer.getNamespaceSelector() != null
                        && MONITORING_NAMESPACE.equals(Objects.requireNonNullElse(peer.getNamespaceSelector()
                                .getMatchLabels(), Map.<String, String>of()).get("kubernetes.io/metadata.name")))
                        && r.getPorts().stream().anyMatch(p -> p.getPort() != null && p.getPort().getIntVal() != null
                                && p.getPort().getIntVal() == Integer.parseInt(cfg.getOrDefault("quarkus.http.port",
                                        "8080"))));
        if (!admitted) {
            problems.add(where + "no NetworkPolicy lets namespace " + MONITORING_NAMESPACE + " reach the metrics port");
        }
    }

    /** An image reference pinned to one content digest. */
    static final Pattern PINNED_IMAGE = Pattern.compile("[^@\\s]+@sha256:[0-9a-f]{64}");

    /** Namespaces of Knative's data plane that may open connections to queue-proxy, and what each may reach. */
    static final Map<String, Set<Integer>> DATA_PLANE_PORTS = Map.of(
            // activator: requests (8112: HTTPS with system-internal-tls); autoscaler: queue-proxy statistics
            "knative-serving", Set.of(8012, 8013, 8112, 9090),
            "kourier-system", Set.of(8012, 8013, 8112), // the cluster-local gateway (Istio: istio-system; Contour: ...)
            "istio-system", Set.of(8012, 8013, 8112),
            "contour-internal", Set.of(8012, 8013, 8112));
    /** Prometheus (knative/monitoring) may scrape the application's /q/metrics and queue-proxy's metrics. */
    static final String MONITORING_NAMESPACE = "monitoring";

    /**
     * Every function's pods are selected by an ingress NetworkPolicy that admits only Knative's data plane (and, with
     * knative/monitoring, Prometheus), each to named ports: no rule admits everyone, a bare pod selector or the user
     * port from the data plane (requests reach it through queue-proxy, over localhost).
     */
    static void checkNetworkPolicies(List<HasMetadata> objects, List<Service> functions, List<String> problems) {
        List<NetworkPolicy> policies = objects.stream().filter(NetworkPolicy.class::isInstance)
                .map(NetworkPolicy.class::cast).toList();
        for (Service function : functions) {
            Map<String, String> podLabels = Map.of("serving.knative.dev/service", name(function));
            List<NetworkPolicy> selecting = policies.stream()
                    .filter(p -> p.getSpec().getPodSelector() != null
                            && podLabels.equals(p.getSpec().getPodSelector().getMatchLabels()))
                    .toList();
            if (selecting.stream().noneMatch(p -> p.getSpec().getPolicyTypes().contains("Ingress"))) {
                problems.add("Service " + name(function) + ": no NetworkPolicy with policyTypes [Ingress] selects its"
                        + " pods by " + podLabels);
            }
            Map<String, Set<Integer>> admitted = new java.util.TreeMap<>();
            for (NetworkPolicy policy : selecting) {
                String where = "NetworkPolicy " + name(policy) + ": ";
                for (io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyIngressRule rule
                        : policy.getSpec().getIngress()) {
                    if (rule.getFrom().isEmpty() || rule.getPorts().isEmpty()) {
                        problems.add(where + "a rule without from or ports admits everyone or every port");
                        continue;
                    }
                    for (io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPeer peer : rule.getFrom()) {
                        String namespace = peer.getNamespaceSelector() == null
                                || peer.getNamespaceSelector().getMatchLabels() == null ? null
                                        : peer.getNamespaceSelector().getMatchLabels().get("kubernetes.io/metadata.name");
                        if (namespace == null || peer.getIpBlock() != null || peer.getNamespaceSelector()
                                .getMatchExpressions() != null && !peer.getNamespaceSelector().getMatchExpressions()
                                        .isEmpty()) {
                            problems.add(where + "each peer must name one namespace by kubernetes.io/metadata.name");
                            continue;
                        }
                        Set<Integer> allowed = namespace.equals(MONITORING_NAMESPACE) ? Set.of(8080, 9091)
                                : DATA_PLANE_PORTS.get(namespace);
                        for (io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPort port : rule.getPorts()) {
                            Integer number = port.getPort() == null ? null : port.getPort().getIntVal();
                            if (allowed == null || number == null || !allowed.contains(number)) {
                                problems.add(where + "admits " + namespace + " to port " + port.getPort()
                                        + " (allowed: " + (allowed == null ? "nothing" : new TreeSet<>(allowed)) + ")");
                            } else {
                                admitted.computeIfAbsent(namespace, n -> new TreeSet<>()).add(number);
                            }
                        }
                    }
                }
            }
            if (!admitted.getOrDefault("knative-serving", Set.of()).containsAll(Set.of(8012, 8112, 9090))) {
                problems.add("Service " + name(function) + ": its NetworkPolicy must admit knative-serving to 8012"
                        + " and 8112 (activator; 8112 with system-internal-tls) and 9090 (autoscaler); admitted: "
                        + admitted);
            }
            if (admitted.keySet().stream().noneMatch(n -> !n.equals("knative-serving") && DATA_PLANE_PORTS.containsKey(n))) {
                problems.add("Service " + name(function) + ": its NetworkPolicy must admit the ingress gateway's"
                        + " namespace (requests bypass the activator once pods are up); admitted: " + admitted);
            }
        }
    }

    /** Labels every node carries (the kubelet sets them); anything else exists only where some add-on adds it. */
    static final Set<String> WELL_KNOWN_NODE_LABELS = Set.of("kubernetes.io/arch", "kubernetes.io/os");

    /**
     * A nodeSelector on a label only an add-on sets (NVIDIA's GPU Operator sets {@code nvidia.com/gpu.present}; the
     * plain device plugin does not) leaves pods Pending on clusters without it: the {@code nvidia.com/gpu} limit
     * already places a pod on a GPU node. The images are x86-64 only, so {@code kubernetes.io/arch: amd64}.
     */
    static void checkNodeSelector(String where, Map<String, String> selector, List<String> problems) {
        Map<String, String> labels = selector == null ? Map.of() : selector;
        for (String label : labels.keySet()) {
            if (!WELL_KNOWN_NODE_LABELS.contains(label)) {
                problems.add(where + "nodeSelector " + label + " is not a label every node has (well-known labels: "
                        + WELL_KNOWN_NODE_LABELS + "); document add-on labels as an option instead");
            }
        }
        if (!labels.isEmpty() && !"amd64".equals(labels.get("kubernetes.io/arch"))) {
            problems.add(where + "nodeSelector kubernetes.io/arch: amd64 (the images are x86-64 only)");
        }
    }

    static void checkProbe(String where, String kind, Probe probe, String path, int port, List<String> problems) {
        if (probe == null || probe.getHttpGet() == null) {
            problems.add(where + kind + " must be an httpGet probe on " + path);
            return;
        }
        // Knative's webhook (pkg/apis/serving/k8s_validation.go): periodSeconds 0 or unset means aggressive probing,
        // and then timeoutSeconds and failureThreshold are disallowed.
        if ((probe.getPeriodSeconds() == null || probe.getPeriodSeconds() == 0)
                && (nonZero(probe.getTimeoutSeconds()) || nonZero(probe.getFailureThreshold()))) {
            problems.add(where + kind + ": timeoutSeconds and failureThreshold are disallowed when periodSeconds is zero");
        }
        HTTPGetAction get = probe.getHttpGet();
        if (!path.equals(get.getPath())) {
            problems.add(where + kind + " path " + get.getPath() + " is not " + path);
        }
        if (get.getPort() != null && !Objects.equals(get.getPort().getIntVal(), port)) {
            problems.add(where + kind + " port " + get.getPort().getValue() + " is not the http port " + port);
        }
        if (get.getScheme() != null && !get.getScheme().equals("HTTP")) {
            problems.add(where + kind + " scheme must be HTTP");
        }
    }

    private static boolean nonZero(Integer value) {
        return value != null && value != 0;
    }

    /** The SmallRye Health path of a probe kind, as configured (SmallRye's defaults otherwise). */
    static String healthPath(AppConfig cfg, String key, String defaultPath) {
        String root = cfg.getOrDefault("quarkus.http.non-application-root-path", "q");
        String health = cfg.getOrDefault("quarkus.smallrye-health.root-path", "health");
        String sub = cfg.getOrDefault("quarkus.smallrye-health." + key, defaultPath);
        return ("/" + root + "/" + health + "/" + sub).replaceAll("/+", "/");
    }

    static void checkTrigger(Trigger trigger, List<HasMetadata> objects, List<Service> functions, AppConfig cfg,
            List<String> problems) {
        String where = "Trigger " + name(trigger) + ": ";
        if (find(objects, "Broker", trigger.getSpec().getBroker()) == null) {
            problems.add(where + "Broker " + trigger.getSpec().getBroker() + " is not deployed");
        }
        if (trigger.getSpec().getFilters() != null && !trigger.getSpec().getFilters().isEmpty()) {
            problems.add(where + "uses the new `filters` (a feature flag on some clusters); use filter.attributes");
        }
        Map<String, String> attributes = trigger.getSpec().getFilter() == null ? Map.of()
                : Objects.requireNonNullElse(trigger.getSpec().getFilter().getAttributes(), Map.of());
        String type = attributes.get("type");
        if (type == null || type.isBlank()) {
            problems.add(where + "filters on no exact type: it would receive our own replies and loop");
        } else {
            // Our replies carry one of these types and our source, and no extension: they must not match.
            for (String replyKey : List.of("sapiens.events.result-type", "sapiens.events.failure-type",
                    "sapiens.events.stored-type")) {
                Map<String, String> reply = Map.of("type", cfg.get(replyKey), "source", cfg.get("sapiens.events.source"));
                boolean matches = attributes.entrySet().stream().allMatch(a -> a.getValue().equals(reply.get(a.getKey())));
                if (matches) {
                    problems.add(where + "matches our own " + replyKey + " replies: an endless loop");
                }
            }
            boolean handled = type.equals(cfg.get("sapiens.events.request-type"))
                    || type.equals(dev.sapienseg.event.SegmentFunction.KNATIVE_AWS_S3)
                    || StorageNotifications.isStorageType(type)
                    || (type.equals(KAFKA_EVENT_TYPE) && kafkaSourceTagsMatch(attributes, trigger, objects));
            if (!handled) {
                problems.add(where + "type " + type + ": the function does not handle it (request type "
                        + cfg.get("sapiens.events.request-type") + ", storage types, or " + KAFKA_EVENT_TYPE
                        + " with the extensions a KafkaSource sets)");
            }
        }
        checkDestination(where + "subscriber", trigger.getSpec().getSubscriber(), objects, problems);
        if (trigger.getSpec().getSubscriber() == null || trigger.getSpec().getSubscriber().getRef() == null
                || functions.stream().noneMatch(f -> name(f).equals(trigger.getSpec().getSubscriber().getRef().getName()))) {
            problems.add(where + "subscriber is not the function Service");
        }
        DeliverySpec delivery = trigger.getSpec().getDelivery();
        if (delivery == null) {
            Broker broker = (Broker) find(objects, "Broker", trigger.getSpec().getBroker());
            delivery = broker == null ? null : broker.getSpec().getDelivery();
        }
        checkDelivery("Trigger " + name(trigger), delivery, objects, functions, problems);
    }

    /** A KafkaSource posting to this Trigger's Broker sets every non-type attribute the Trigger filters on. */
    static boolean kafkaSourceTagsMatch(Map<String, String> attributes, Trigger trigger, List<HasMetadata> objects) {
        Map<String, String> extensions = new LinkedHashMap<>(attributes);
        extensions.remove("type");
        if (extensions.isEmpty()) {
            return false; // the type alone is shared by every KafkaSource
        }
        for (HasMetadata o : objects) {
            if (o instanceof KafkaSource k && k.getSpec().getSink() != null && k.getSpec().getSink().getRef() != null
                    && "Broker".equals(k.getSpec().getSink().getRef().getKind())
                    && trigger.getSpec().getBroker().equals(k.getSpec().getSink().getRef().getName())
                    && k.getSpec().getCeOverrides() != null
                    && k.getSpec().getCeOverrides().getExtensions().entrySet().containsAll(extensions.entrySet())) {
                return true;
            }
        }
        return false;
    }

    /** The CloudEvent type each kind of AWS IntegrationSource emits (fixed by eventing-integrations). */
    static final Map<String, String> INTEGRATION_SOURCE_TYPES = Map.of("sqs", StorageNotifications.KNATIVE_AWS_SQS,
            "s3", dev.sapienseg.event.SegmentFunction.KNATIVE_AWS_S3);

    /**
     * An AWS IntegrationSource: region and credentials set, an SQS source names a queue (its name or an SQS ARN: the
     * source refuses an S3 ARN, as Knative's own docs example has it), its sink is a deployed Broker, and a Trigger of
     * that Broker takes the type it emits.
     */
    static void checkIntegrationSource(IntegrationSource source, List<HasMetadata> objects, List<String> problems) {
        String where = "IntegrationSource " + name(source) + ": ";
        var aws = source.getSpec().getAws();
        if (aws == null || (aws.getSqs() == null) == (aws.getS3() == null)) {
            problems.add(where + "one of spec.aws.sqs or spec.aws.s3 expected");
            return;
        }
        String kind = aws.getSqs() != null ? "sqs" : "s3";
        String arn = aws.getSqs() != null ? aws.getSqs().getArn() : aws.getS3().getArn();
        String region = aws.getSqs() != null ? aws.getSqs().getRegion() : aws.getS3().getRegion();
        if (region == null || region.isBlank() || arn == null || arn.isBlank()) {
            problems.add(where + "arn and region are required");
        } else if (kind.equals("sqs") && !arn.matches("[A-Za-z0-9_-]{1,80}(\\.fifo)?|arn:aws[a-z-]*:sqs:[a-z0-9-]+:\\d{12}:[A-Za-z0-9_.-]+")) {
            problems.add(where + "arn must be a queue name or arn:aws:sqs:<region>:<account>:<queue>, not " + arn);
        }
        if (aws.getAuth() == null || (aws.getAuth().getServiceAccountName() == null && (aws.getAuth().getSecret() == null
                || aws.getAuth().getSecret().getRef() == null || aws.getAuth().getSecret().getRef().getName() == null))) {
            problems.add(where + "spec.aws.auth needs secret.ref.name or serviceAccountName");
        }
        checkDestination(where + "sink", source.getSpec().getSink(), objects, problems);
        var sink = source.getSpec().getSink() == null ? null : source.getSpec().getSink().getRef();
        String type = INTEGRATION_SOURCE_TYPES.get(kind);
        boolean routed = sink != null && "Broker".equals(sink.getKind()) && objects.stream()
                .filter(Trigger.class::isInstance).map(Trigger.class::cast)
                .anyMatch(t -> sink.getName().equals(t.getSpec().getBroker()) && t.getSpec().getFilter() != null
                        && type.equals(t.getSpec().getFilter().getAttributes().get("type")));
        if (!routed) {
            problems.add(where + "its sink must be a Broker with a Trigger on " + type);
        }
    }

    static void checkKafkaSource(KafkaSource source, List<HasMetadata> objects, List<Service> functions,
            List<String> problems) {
        String where = "KafkaSource " + name(source) + ": ";
        if (source.getSpec().getBootstrapServers() == null || source.getSpec().getBootstrapServers().isEmpty()
                || source.getSpec().getTopics() == null || source.getSpec().getTopics().isEmpty()) {
            problems.add(where + "bootstrapServers and topics are required");
        }
        checkDestination(where + "sink", source.getSpec().getSink(), objects, problems);
        if (source.getSpec().getCeOverrides() != null) {
            for (String ext : source.getSpec().getCeOverrides().getExtensions().keySet()) {
                if (!ext.matches("[a-z0-9]{1,20}")) {
                    problems.add(where + "CloudEvents extension name " + ext + " must be 1-20 lower-case letters/digits");
                }
            }
        }
        checkDelivery("KafkaSource " + name(source), source.getSpec().getDelivery(), objects, functions, problems);
    }

    static void checkDelivery(String where, DeliverySpec delivery, List<HasMetadata> objects, List<Service> functions,
            List<String> problems) {
        if (delivery == null) {
            problems.add(where + ": no delivery spec (retry, backoff, dead-letter sink)");
            return;
        }
        if (delivery.getRetry() == null || delivery.getRetry() < 1) {
            problems.add(where + ": delivery retry must be at least 1 (429/503 are meant to be retried)");
        }
        if (!Set.of("exponential", "linear").contains(String.valueOf(delivery.getBackoffPolicy()))) {
            problems.add(where + ": backoffPolicy must be exponential or linear");
        }
        try {
            if (Duration.parse(String.valueOf(delivery.getBackoffDelay())).isZero()) {
                problems.add(where + ": backoffDelay must be positive");
            }
        } catch (RuntimeException e) {
            problems.add(where + ": backoffDelay " + delivery.getBackoffDelay() + " is not an ISO-8601 duration");
        }
        if (delivery.getDeadLetterSink() == null) {
            problems.add(where + ": no dead-letter sink");
        } else {
            checkDestination(where + " dead-letter sink", delivery.getDeadLetterSink(), objects, problems);
            KReference ref = delivery.getDeadLetterSink().getRef();
            if (ref != null && functions.stream().anyMatch(f -> name(f).equals(ref.getName()))) {
                problems.add(where + ": the dead-letter sink is the function itself");
            }
        }
    }

    static void checkDestination(String where, Destination d, List<HasMetadata> objects, List<String> problems) {
        if (d == null || (d.getRef() == null && d.getUri() == null)) {
            problems.add(where + " is missing");
            return;
        }
        KReference ref = d.getRef();
        if (ref != null) {
            HasMetadata target = find(objects, ref.getKind(), ref.getName());
            if (target == null || !target.getApiVersion().equals(ref.getApiVersion())) {
                problems.add(where + " " + ref.getApiVersion() + " " + ref.getKind() + " " + ref.getName()
                        + " is not deployed by this overlay");
            }
        }
    }

    /** Body limits set anywhere (ingress annotations and the like) must admit the application's largest request. */
    static void checkBodyLimits(List<ObjectNode> nodes, AppConfig cfg, List<String> problems) {
        long maxBody = AppConfig.memorySize(cfg.get("quarkus.http.limits.max-body-size"));
        long maxImage = AppConfig.memorySize(cfg.get("sapiens.limits.max-image-bytes"));
        if (maxBody < maxImage * 4 / 3) {
            problems.add("quarkus.http.limits.max-body-size " + maxBody + " cannot carry a base64 image of "
                    + "sapiens.limits.max-image-bytes " + maxImage);
        }
        for (ObjectNode node : nodes) {
            forEachAnnotation(node, (key, value) -> {
                String k = key.toLowerCase(Locale.ROOT);
                if (k.contains("body-size") || k.contains("body-limit") || k.contains("max-body")
                        || k.contains("request-size")) {
                    long limit = AppConfig.byteQuantity(value);
                    if (limit != 0 && limit < maxBody) {
                        problems.add(node.path("kind").asText() + " " + node.at("/metadata/name").asText() + ": " + key
                                + " " + value + " is below quarkus.http.limits.max-body-size " + maxBody + " bytes");
                    }
                }
            });
        }
    }

    private static void forEachAnnotation(JsonNode node, java.util.function.BiConsumer<String, String> action) {
        if (node.isObject()) {
            node.fields().forEachRemaining(e -> {
                if (e.getKey().equals("annotations") && e.getValue().isObject()) {
                    e.getValue().fields().forEachRemaining(a -> action.accept(a.getKey(), a.getValue().asText()));
                } else {
                    forEachAnnotation(e.getValue(), action);
                }
            });
        } else if (node.isArray()) {
            node.forEach(n -> forEachAnnotation(n, action));
        }
    }

    /** The Knative Serving config-features flags a pod spec depends on. */
    static Set<String> neededFlags(RevisionSpec pod) {
        Set<String> flags = new TreeSet<>();
        if (pod.getNodeSelector() != null && !pod.getNodeSelector().isEmpty()) {
            flags.add("kubernetes.podspec-nodeselector");
        }
        if (pod.getTolerations() != null && !pod.getTolerations().isEmpty()) {
            flags.add("kubernetes.podspec-tolerations");
        }
        if (pod.getAffinity() != null) {
            flags.add("kubernetes.podspec-affinity");
        }
        if (pod.getRuntimeClassName() != null) {
            flags.add("kubernetes.podspec-runtimeclassname");
        }
        if (pod.getSecurityContext() != null) {
            flags.add("kubernetes.podspec-securitycontext");
        }
        if (pod.getInitContainers() != null && !pod.getInitContainers().isEmpty()) {
            flags.add("kubernetes.podspec-init-containers");
        }
        if (pod.getPriorityClassName() != null) {
            flags.add("kubernetes.podspec-priorityclassname");
        }
        if (pod.getTopologySpreadConstraints() != null && !pod.getTopologySpreadConstraints().isEmpty()) {
            flags.add("kubernetes.podspec-topologyspreadconstraints");
        }
        for (Volume v : Objects.requireNonNullElse(pod.getVolumes(), List.<Volume>of())) {
            if (v.getPersistentVolumeClaim() != null) {
                flags.add("kubernetes.podspec-persistent-volume-claim");
                boolean readOnly = Boolean.TRUE.equals(v.getPersistentVolumeClaim().getReadOnly())
                        || pod.getContainers().stream().flatMap(c -> Objects.requireNonNullElse(c.getVolumeMounts(),
                                List.<VolumeMount>of()).stream()).filter(m -> m.getName().equals(v.getName()))
                                .allMatch(m -> Boolean.TRUE.equals(m.getReadOnly()));
                if (!readOnly) {
                    flags.add("kubernetes.podspec-persistent-volume-write");
                }
            }
            if (v.getHostPath() != null) {
                flags.add("kubernetes.podspec-volumes-hostpath");
            }
            if (v.getImage() != null) {
                flags.add("kubernetes.podspec-volumes-image");
            }
        }
        return flags;
    }

    /** The application's configuration in the function's pod: its env and envFrom ConfigMaps on the defaults. */
    static AppConfig podConfig(Service service, List<HasMetadata> objects, List<String> problems) {
        String where = "Service " + name(service) + ": ";
        Container c = service.getSpec().getTemplate().getSpec().getContainers().get(0);
        Map<String, String> env = new LinkedHashMap<>();
        for (EnvFromSource from : Objects.requireNonNullElse(c.getEnvFrom(), List.<EnvFromSource>of())) {
            if (from.getConfigMapRef() != null) {
                ConfigMap cm = (ConfigMap) find(objects, "ConfigMap", from.getConfigMapRef().getName());
                if (cm == null) {
                    if (!Boolean.TRUE.equals(from.getConfigMapRef().getOptional())) {
                        problems.add(where + "envFrom ConfigMap " + from.getConfigMapRef().getName() + " is not deployed");
                    }
                } else {
                    Objects.requireNonNullElse(cm.getData(), Map.<String, String>of()).forEach((k, v) -> {
                        if (from.getPrefix() != null) {
                            problems.add(where + "envFrom prefixes are not used here");
                        }
                        env.put(k, v);
                    });
                }
            } else if (from.getSecretRef() != null && !Boolean.TRUE.equals(from.getSecretRef().getOptional())) {
                problems.add(where + "envFrom Secret " + from.getSecretRef().getName() + " must be optional (it is "
                        + "created by the user, see README)");
            }
        }
        Set<String> seen = new LinkedHashSet<>();
        for (EnvVar e : Objects.requireNonNullElse(c.getEnv(), List.<EnvVar>of())) {
            if (!seen.add(e.getName())) {
                problems.add(where + "env " + e.getName() + " is set twice");
            }
            env.put(e.getName(), e.getValueFrom() != null ? "<" + e.getName() + " from a reference>"
                    : Objects.requireNonNullElse(e.getValue(), ""));
            if (e.getValueFrom() != null && e.getValueFrom().getSecretKeyRef() != null
                    && !Boolean.TRUE.equals(e.getValueFrom().getSecretKeyRef().getOptional())) {
                problems.add(where + "env " + e.getName() + " refers to a Secret the user may not have: make it optional");
            }
        }
        for (String name : env.keySet()) {
            app.unknownVariable(name).ifPresent(why -> problems.add(where + why));
        }
        return app.withEnvironment(env);
    }

    // --- typed parsing ---------------------------------------------------------------------------------------

    static List<HasMetadata> typed(List<ObjectNode> nodes, List<String> problems) {
        List<HasMetadata> out = new ArrayList<>();
        for (ObjectNode node : nodes) {
            HasMetadata o = typed(node, node.path("kind").asText() + " " + node.at("/metadata/name").asText(), problems);
            if (o != null) {
                out.add(o);
            }
        }
        return out;
    }

    static HasMetadata typed(ObjectNode node, String where, List<String> problems) {
        String key = node.path("apiVersion").asText() + "/" + node.path("kind").asText();
        Class<? extends HasMetadata> type = TYPES.get(key);
        if (type == null) {
            problems.add(where + ": no typed model for " + key + " (add it to TYPES)");
            return null;
        }
        HasMetadata o;
        try {
            o = Kustomize.YAML.treeToValue(node, type);
        } catch (IOException e) {
            problems.add(where + ": does not parse as " + type.getName() + ": " + e.getMessage());
            return null;
        }
        if (o.getMetadata() == null || o.getMetadata().getName() == null) {
            problems.add(where + ": metadata.name is required");
        }
        additionalProperties(o, type.getSimpleName(), problems, Collections.newSetFromMap(new IdentityHashMap<>()));
        // Custom deserializers (Quantity, IntOrString) can drop fields without keeping them: compare the round trip.
        droppedFields(node, Kustomize.YAML.valueToTree(o), type.getSimpleName(), problems);
        return o;
    }

    /** Fields of the source that the typed object does not give back, or gives back with another value. */
    static void droppedFields(JsonNode source, JsonNode back, String path, List<String> problems) {
        if (source.isObject()) {
            if (!back.isObject()) {
                problems.add(path + ": read as " + back.getNodeType() + ", not as an object");
                return;
            }
            source.fields().forEachRemaining(e -> {
                if (e.getValue().isNull() || (e.getValue().isContainerNode() && e.getValue().isEmpty())) {
                    return; // the model leaves out empty lists and maps, as Kubernetes does
                }
                JsonNode b = back.get(e.getKey());
                if (b == null || b.isNull()) {
                    problems.add(path + ": field " + e.getKey() + " is dropped by the typed model");
                } else {
                    droppedFields(e.getValue(), b, path + "." + e.getKey(), problems);
                }
            });
        } else if (source.isArray()) {
            if (!back.isArray() || back.size() != source.size()) {
                problems.add(path + ": list not read back whole");
                return;
            }
            for (int i = 0; i < source.size(); i++) {
                droppedFields(source.get(i), back.get(i), path + "[" + i + "]", problems);
            }
        } else if (!source.asText().equals(back.asText())) {
            problems.add(path + ": " + source + " is read as " + back);
        }
    }

    /** Unknown (misspelled) fields of a YAML document, as paths; empty when every field is known. */
    static List<String> unknownFields(String yaml) {
        List<String> problems = new ArrayList<>();
        for (ObjectNode doc : Kustomize.readDocuments(yaml, "inline")) {
            typed(doc, "inline", problems);
        }
        return problems;
    }

    /** Walks the typed object graph: every fabric8 object must have kept no field in getAdditionalProperties(). */
    static void additionalProperties(Object o, String path, List<String> problems, Set<Object> seen) {
        if (o == null || o instanceof String || o instanceof Number || o instanceof Boolean || o instanceof Enum<?>
                || !seen.add(o)) {
            return;
        }
        if (o instanceof Collection<?> items) {
            int i = 0;
            for (Object item : items) {
                additionalProperties(item, path + "[" + i++ + "]", problems, seen);
            }
            return;
        }
        if (o instanceof Map<?, ?> map) {
            map.forEach((k, v) -> additionalProperties(v, path + "." + k, problems, seen));
            return;
        }
        if (!o.getClass().getName().startsWith("io.fabric8.")) {
            return;
        }
        for (Method m : o.getClass().getMethods()) {
            if (m.getParameterCount() != 0 || Modifier.isStatic(m.getModifiers()) || m.getDeclaringClass() == Object.class) {
                continue;
            }
            String name = m.getName();
            try {
                if (name.equals("getAdditionalProperties")) {
                    Map<?, ?> extra = (Map<?, ?>) m.invoke(o);
                    if (extra != null && !extra.isEmpty()) {
                        problems.add(path + ": unknown fields " + extra.keySet());
                    }
                } else if (name.startsWith("get") && name.length() > 3 && !isDerived(name)) {
                    String property = Character.toLowerCase(name.charAt(3)) + name.substring(4);
                    additionalProperties(m.invoke(o), path + "." + property, problems, seen);
                }
            } catch (ReflectiveOperationException e) {
                problems.add(path + "." + name + ": " + e.getCause());
            }
        }
    }

    /** Getters that compute from other fields rather than hold one. */
    private static boolean isDerived(String getter) {
        return Set.of("getPlural", "getSingular", "getFullResourceName", "getNumericalAmount", "getKind",
                "getApiVersion").contains(getter);
    }

    // --- helpers ---------------------------------------------------------------------------------------------

    static final Path OPERATOR_FEATURES = ROOT.resolve("cluster/knative-serving-features.yaml");

    /**
     * Operator-managed installs overwrite config-features: the KnativeServing equivalent must enable the same flags,
     * with nothing else in it (the Operator's CR: spec.config.&lt;configmap suffix&gt;.&lt;key&gt;).
     */
    @Test
    void theOperatorsKnativeServingEnablesTheSameFlags() {
        List<ObjectNode> docs = Kustomize.readDocuments(OPERATOR_FEATURES);
        assertEquals(1, docs.size(), OPERATOR_FEATURES.toString());
        ObjectNode cr = docs.get(0);
        assertEquals("operator.knative.dev/v1beta1", cr.path("apiVersion").asText());
        assertEquals("KnativeServing", cr.path("kind").asText());
        assertEquals("knative-serving", cr.at("/metadata/namespace").asText());
        assertEquals(List.of("config"), iterable(cr.path("spec").fieldNames()));
        assertEquals(List.of("features"), iterable(cr.at("/spec/config").fieldNames()));
        Map<String, String> flags = new java.util.TreeMap<>();
        cr.at("/spec/config/features").fields().forEachRemaining(e -> flags.put(e.getKey(), e.getValue().asText()));
        assertEquals(new java.util.TreeMap<>(featuresPatch().getData()), flags,
                "knative/cluster: the KnativeServing and the config-features patch must enable the same flags");
    }

    private static List<String> iterable(java.util.Iterator<String> names) {
        List<String> out = new ArrayList<>();
        names.forEachRemaining(out::add);
        return out;
    }

    static ConfigMap featuresPatch() {
        List<ObjectNode> docs = Kustomize.readDocuments(FEATURES_PATCH);
        assertEquals(1, docs.size(), FEATURES_PATCH.toString());
        List<String> problems = new ArrayList<>();
        HasMetadata cm = typed(docs.get(0), FEATURES_PATCH.toString(), problems);
        assertEquals(List.of(), problems);
        return (ConfigMap) cm;
    }

    /** The Services that run our image (as retargeted by knative/images). */
    static List<Service> functionServices(List<HasMetadata> objects) {
        List<Service> out = new ArrayList<>();
        for (HasMetadata o : objects) {
            if (o instanceof Service s && s.getSpec() != null && s.getSpec().getTemplate() != null
                    && s.getSpec().getTemplate().getSpec() != null
                    && s.getSpec().getTemplate().getSpec().getContainers().stream()
                            .anyMatch(c -> Kustomize.imageName(c.getImage()).equals(functionImage))) {
                out.add(s);
            }
        }
        return out;
    }

    static HasMetadata find(List<HasMetadata> objects, String kind, String name) {
        return objects.stream().filter(o -> o.getKind().equals(kind) && name != null && name.equals(name(o)))
                .findFirst().orElse(null);
    }

    static String name(HasMetadata o) {
        return o.getMetadata() == null ? null : o.getMetadata().getName();
    }

    /** Go durations as Knative annotations take them: {@code 1800s}, {@code 15m}, {@code 1h30m}. */
    static Duration goDuration(String text) {
        Matcher m = Pattern.compile("(\\d+)(ms|h|m|s)").matcher(text);
        Duration d = Duration.ZERO;
        int end = 0;
        while (m.find()) {
            if (m.start() != end) {
                break;
            }
            long n = Long.parseLong(m.group(1));
            d = d.plus(switch (m.group(2)) {
                case "h" -> Duration.ofHours(n);
                case "m" -> Duration.ofMinutes(n);
                case "s" -> Duration.ofSeconds(n);
                default -> Duration.ofMillis(n);
            });
            end = m.end();
        }
        if (end != text.length() || end == 0) {
            fail("not a Go duration: " + text);
        }
        return d;
    }

    // Mutation helpers on the rendered GPU overlay.

    static ObjectNode object(List<ObjectNode> nodes, String kind, String name) {
        return nodes.stream().filter(n -> n.path("kind").asText().equals(kind)
                && n.at("/metadata/name").asText().equals(name)).findFirst().orElseThrow();
    }

    static ObjectNode function(List<ObjectNode> nodes) {
        return nodes.stream().filter(n -> n.path("kind").asText().equals("Service")
                && n.at("/spec/template/spec/containers/0/image").asText().startsWith(functionImage + ":"))
                .findFirst().orElseThrow();
    }

    static ObjectNode templateSpec(List<ObjectNode> nodes) {
        return (ObjectNode) function(nodes).at("/spec/template/spec");
    }

    static ObjectNode annotations(List<ObjectNode> nodes) {
        return (ObjectNode) function(nodes).at("/spec/template/metadata/annotations");
    }

    static ObjectNode container(List<ObjectNode> nodes) {
        return (ObjectNode) function(nodes).at("/spec/template/spec/containers/0");
    }

    static ObjectNode env(List<ObjectNode> nodes, String name) {
        for (JsonNode e : (ArrayNode) container(nodes).get("env")) {
            if (e.path("name").asText().equals(name)) {
                return (ObjectNode) e;
            }
        }
        throw new AssertionError("no env " + name);
    }

    static ObjectNode triggerAttributes(List<ObjectNode> nodes, String trigger) {
        return (ObjectNode) object(nodes, "Trigger", trigger).at("/spec/filter/attributes");
    }
}
