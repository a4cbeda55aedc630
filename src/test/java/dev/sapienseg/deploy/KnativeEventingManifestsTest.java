package dev.sapienseg.deploy;

import static dev.sapienseg.deploy.KnativeManifests.ROOT;
import static dev.sapienseg.deploy.KnativeManifests.backfill;
import static dev.sapienseg.deploy.KnativeManifests.check;
import static dev.sapienseg.deploy.KnativeManifests.functionImage;
import static dev.sapienseg.deploy.KnativeManifests.object;
import static dev.sapienseg.deploy.KnativeManifests.overlays;
import static dev.sapienseg.deploy.KnativeManifests.triggerAttributes;
import static dev.sapienseg.deploy.TypedManifests.typed;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.node.ObjectNode;

import io.fabric8.kubernetes.api.model.HasMetadata;

/**
 * Events into the function: the MinIO Trigger takes only what its KafkaSource tags, and the backfill Job sends to the
 * Broker with the function's storage settings. The rules are {@link EventingRules}; shares {@link KnativeManifests}.
 */
class KnativeEventingManifestsTest {

    @BeforeAll
    static void render() {
        KnativeManifests.render();
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
}
