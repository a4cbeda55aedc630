package dev.sapienseg.deploy;

import static dev.sapienseg.deploy.KnativeManifests.ROOT;
import static dev.sapienseg.deploy.KnativeManifests.check;
import static dev.sapienseg.deploy.KnativeManifests.object;
import static dev.sapienseg.deploy.KnativeManifests.overlays;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Hardening that goes missing is reported: a writable root, a mounted token, an unpinned image, NetworkPolicies that
 * admit too much or select nothing, an AWS source that cannot work, a PodMonitor that cannot scrape. The rules are
 * {@link HardeningRules} (and {@link EventingRules} for the AWS source); shares {@link KnativeManifests}.
 */
class KnativeHardeningManifestsTest {

    @BeforeAll
    static void render() {
        KnativeManifests.render();
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
}
