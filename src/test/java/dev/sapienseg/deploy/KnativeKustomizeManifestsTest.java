package dev.sapienseg.deploy;

import static dev.sapienseg.deploy.KnativeManifests.FEATURES_PATCH;
import static dev.sapienseg.deploy.KnativeManifests.OPERATOR_FEATURES;
import static dev.sapienseg.deploy.KnativeManifests.ROOT;
import static dev.sapienseg.deploy.KnativeManifests.filesRead;
import static dev.sapienseg.deploy.KnativeManifests.functionImage;
import static dev.sapienseg.deploy.KnativeManifests.functionServices;
import static dev.sapienseg.deploy.KnativeManifests.overlays;
import static dev.sapienseg.deploy.TypedManifests.typed;
import static dev.sapienseg.deploy.TypedManifests.unknownFields;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.fabric8.knative.serving.v1.Service;

/**
 * knative/ as files: every YAML file is read by some kustomization and parses into typed fabric8 objects with no
 * unknown field, kustomizations are strict, and images are retargeted in one place. Shares {@link KnativeManifests}.
 */
class KnativeKustomizeManifestsTest {

    @BeforeAll
    static void render() {
        KnativeManifests.render();
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

    @Test
    void aMisspelledFieldIsCaughtAnywhereInTheObjectGraph() throws IOException {
        String service = Files.readString(ROOT.resolve("gpu/service-gpu.yaml"));
        assertTrue(unknownFields(service).isEmpty(), "the real file has no unknown field");

        String topLevel = service.replace("containerConcurrency:", "containerConcurency:");
        assertTrue(unknownFields(topLevel).stream().anyMatch(p -> p.contains("containerConcurency")),
                "spec.template.spec.containerConcurency: " + unknownFields(topLevel));

        String nested = service.replaceFirst("failureThreshold: 330", "failureTreshold: 330");
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
}
