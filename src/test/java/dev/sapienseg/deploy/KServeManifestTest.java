package dev.sapienseg.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Quantity;

/**
 * {@code deploy/kserve/inferenceservice.yaml}, as a KServe user applies it: the predictor's fields are KServe's
 * (its component extension, KServe's {@code ComponentExtensionSpec}) or a Kubernetes PodSpec's (typed with fabric8,
 * no unknown field anywhere), the container is the function's image and port with the protocol's health probes, every
 * variable is a real setting, and the numbers fit together as for the Knative Services. Mutations prove each check.
 */
class KServeManifestTest {

    static final Path FILE = Path.of("deploy/kserve/inferenceservice.yaml");
    /** KServe v1beta1 ComponentExtensionSpec (pkg/apis/serving/v1beta1/component.go), inlined in the predictor. */
    static final Set<String> EXTENSION_FIELDS = Set.of("minReplicas", "maxReplicas", "scaleTarget", "scaleMetric",
            "containerConcurrency", "timeout", "canaryTrafficPercent", "logger", "batcher", "labels", "annotations",
            "deploymentStrategy");

    static AppConfig app;
    static ObjectNode manifest;

    @BeforeAll
    static void load() throws IOException {
        app = AppConfig.load(KnativeManifests.APPLICATION_PROPERTIES);
        manifest = (ObjectNode) Kustomize.YAML.readTree(Files.readString(FILE));
    }

    static List<String> check(ObjectNode isvc) {
        List<String> problems = new ArrayList<>();
        if (!"serving.kserve.io/v1beta1".equals(isvc.path("apiVersion").asText())
                || !"InferenceService".equals(isvc.path("kind").asText())) {
            problems.add("not a serving.kserve.io/v1beta1 InferenceService");
        }
        String name = isvc.at("/metadata/name").asText(null);
        if (name == null) {
            problems.add("metadata.name is required");
        }
        isvc.path("spec").fieldNames().forEachRemaining(f -> {
            if (!Set.of("predictor", "transformer", "explainer").contains(f)) {
                problems.add("spec." + f + " is not an InferenceService field");
            }
        });
        ObjectNode predictor = (ObjectNode) isvc.at("/spec/predictor");
        ObjectNode podFields = predictor.deepCopy();
        EXTENSION_FIELDS.forEach(podFields::remove);
        PodSpec pod;
        try {
            pod = Kustomize.YAML.treeToValue(podFields, PodSpec.class);
        } catch (IOException e) {
            problems.add("predictor: not a PodSpec plus KServe's fields: " + e.getMessage());
            return problems;
        }
        TypedManifests.additionalProperties(pod, "predictor", problems,
                Collections.newSetFromMap(new IdentityHashMap<>()));
        TypedManifests.droppedFields(podFields, Kustomize.YAML.valueToTree(pod), "predictor", problems);
        ServiceRules.checkNodeSelector("predictor: ", pod.getNodeSelector(), problems);
        if (pod.getContainers() == null || pod.getContainers().size() != 1) {
            problems.add("predictor: one container, the function");
            return problems;
        }
        Container c = pod.getContainers().get(0);
        String where = "predictor container: ";
        if (!"kserve-container".equals(c.getName())) {
            problems.add(where + "KServe expects the predictor's container to be named kserve-container");
        }
        if (!(KnativeManifests.functionImageName() + ":gpu").equals(c.getImage())) {
            problems.add(where + "image " + c.getImage() + " is not the GPU image " + KnativeManifests.functionImageName()
                    + ":gpu (knative/images)");
        }
        int port = Integer.parseInt(app.getOrDefault("quarkus.http.port", "8080"));
        if (c.getPorts() == null || c.getPorts().size() != 1 || c.getPorts().get(0).getContainerPort() != port) {
            problems.add(where + "one port, the http port " + port);
        }
        Map<String, String> env = new LinkedHashMap<>();
        for (EnvVar e : Objects.requireNonNullElse(c.getEnv(), List.<EnvVar>of())) {
            env.put(e.getName(), e.getValueFrom() != null ? "<from a reference>" : Objects.requireNonNullElse(e.getValue(), ""));
            app.unknownVariable(e.getName()).ifPresent(why -> problems.add(where + why));
            if (e.getValueFrom() != null && e.getValueFrom().getSecretKeyRef() != null
                    && !Boolean.TRUE.equals(e.getValueFrom().getSecretKeyRef().getOptional())) {
                problems.add(where + "env " + e.getName() + " refers to a Secret the user may not have: make it optional");
            }
        }
        AppConfig cfg = app.withEnvironment(env);
        if (!Objects.equals(name, cfg.get("sapiens.model.served-name"))) {
            problems.add(where + "SAPIENS_MODEL_SERVED_NAME must be the InferenceService's name (" + name
                    + "): clients address /v2/models/" + name);
        }
        ServiceRules.checkProbe(where, "startupProbe", c.getStartupProbe(),
                ServiceRules.healthPath(cfg, "startup-path", "started"), port, problems);
        ServiceRules.checkProbe(where, "readinessProbe", c.getReadinessProbe(), "/v2/health/ready", port, problems);
        ServiceRules.checkProbe(where, "livenessProbe", c.getLivenessProbe(), "/v2/health/live", port, problems);
        Map<String, Quantity> limits = c.getResources() == null || c.getResources().getLimits() == null ? Map.of()
                : c.getResources().getLimits();
        if (!new Quantity("1").equals(limits.get("nvidia.com/gpu"))) {
            problems.add(where + "limits nvidia.com/gpu: 1");
        }
        BudgetRules.checkMemory(where, cfg, limits, "cuda", problems);
        GpuSizingRules.checkCpuLimit(where, c, cfg, problems);
        problems.addAll(GpuSizingRules.checkCpuSizing(where, c, GpuSizingRules.parse(FILE)));

        int batch = Integer.parseInt(cfg.get("sapiens.batching.max-batch-size"));
        int inFlight = Integer.parseInt(cfg.get("sapiens.limits.max-in-flight"));
        int target = predictor.path("scaleTarget").asInt(0);
        int concurrency = predictor.path("containerConcurrency").asInt(0);
        if (!(batch <= target && target <= concurrency && concurrency <= inFlight)) {
            problems.add("predictor: max-batch-size " + batch + " <= scaleTarget " + target + " <= containerConcurrency "
                    + concurrency + " <= max-in-flight " + inFlight + " does not hold");
        }
        long timeout = predictor.path("timeout").asLong(0);
        problems.addAll(BudgetRules.requestTimeoutProblems("predictor: timeout", timeout, cfg));
        return problems;
    }

    @Test
    void theInferenceServiceIsAsKServeAndTheFunctionNeedIt() {
        assertEquals(List.of(), check(manifest));
    }

    private static List<String> mutated(Consumer<ObjectNode> change) {
        ObjectNode copy = manifest.deepCopy();
        change.accept(copy);
        return check(copy);
    }

    private static ObjectNode container(ObjectNode isvc) {
        return (ObjectNode) isvc.at("/spec/predictor/containers/0");
    }

    private static void setEnv(ObjectNode isvc, String name, String value) {
        for (JsonNode e : container(isvc).get("env")) {
            if (e.get("name").asText().equals(name)) {
                ((ObjectNode) e).put("value", value);
            }
        }
    }

    @Test
    void eachCheckFailsWhenItsRuleIsBroken() {
        Map<String, Consumer<ObjectNode>> mutations = new LinkedHashMap<>();
        mutations.put("unknown fields [replicas]", i -> ((ObjectNode) i.at("/spec/predictor")).put("replicas", 3));
        mutations.put("imagePullPolice", i -> container(i).put("imagePullPolice", "Always"));
        mutations.put("nvidia.com/gpu.present", i -> ((ObjectNode) i.at("/spec/predictor/nodeSelector"))
                .put("nvidia.com/gpu.present", "true"));
        mutations.put("kserve-container", i -> container(i).put("name", "sapiens"));
        mutations.put("GPU image", i -> container(i).put("image", "sapiens-seg:cpu"));
        mutations.put("SAPIENS_MODEL_SERVED_NAME", i -> setEnv(i, "SAPIENS_MODEL_SERVED_NAME", "other"));
        mutations.put("readinessProbe path", i -> ((ObjectNode) container(i).at("/readinessProbe/httpGet")).put("path", "/ready"));
        mutations.put("containerConcurrency", i -> ((ObjectNode) i.at("/spec/predictor")).put("containerConcurrency", 4));
        mutations.put("timeout", i -> ((ObjectNode) i.at("/spec/predictor")).put("timeout", 10));
        mutations.put("memory", i -> setEnv(i, "SAPIENS_LIMITS_MEMORY_BUDGET", "64G"));
        mutations.put("a GPU pod needs a CPU limit", i -> ((ObjectNode) container(i).at("/resources/limits")).remove("cpu"));
        mutations.put("CPU request 4", i -> ((ObjectNode) container(i).at("/resources/requests")).put("cpu", "4"));
        mutations.put("SAPIENS_MODEL_NAME", i -> ((com.fasterxml.jackson.databind.node.ArrayNode) container(i).get("env"))
                .addObject().put("name", "SAPIENS_MODEL_NAME").put("value", "x"));
        mutations.forEach((expected, change) -> {
            List<String> problems = mutated(change);
            assertTrue(problems.stream().anyMatch(p -> p.contains(expected) || p.contains(expected.toLowerCase())),
                    expected + " not caught: " + problems);
        });
    }
}
