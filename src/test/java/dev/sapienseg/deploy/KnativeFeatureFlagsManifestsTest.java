package dev.sapienseg.deploy;

import static dev.sapienseg.deploy.KnativeManifests.OPERATOR_FEATURES;
import static dev.sapienseg.deploy.KnativeManifests.README;
import static dev.sapienseg.deploy.KnativeManifests.ROOT;
import static dev.sapienseg.deploy.KnativeManifests.featuresPatch;
import static dev.sapienseg.deploy.KnativeManifests.functionServices;
import static dev.sapienseg.deploy.KnativeManifests.neededFlags;
import static dev.sapienseg.deploy.KnativeManifests.overlays;
import static dev.sapienseg.deploy.TypedManifests.typed;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.node.ObjectNode;

import io.fabric8.knative.serving.v1.Service;
import io.fabric8.kubernetes.api.model.ConfigMap;

/**
 * knative/cluster: the config-features patch (and the Operator's KnativeServing equivalent) turns on exactly the
 * Knative Serving feature flags the Services' pod specs need, and knative/README.md names them. Shares
 * {@link KnativeManifests}.
 */
class KnativeFeatureFlagsManifestsTest {

    @BeforeAll
    static void render() {
        KnativeManifests.render();
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
    void aFeatureFlagMissingFromThePatchIsReported() {
        ConfigMap features = featuresPatch();
        features.getData().remove("kubernetes.podspec-tolerations");
        List<Service> gpu = functionServices(typed(overlays.get(ROOT.resolve("gpu").normalize()), new ArrayList<>()));
        Set<String> missing = new TreeSet<>(neededFlags(gpu.get(0).getSpec().getTemplate().getSpec()));
        missing.removeAll(features.getData().keySet());
        assertEquals(Set.of("kubernetes.podspec-tolerations"), missing);
    }

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
}
