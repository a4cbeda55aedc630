package dev.sapienseg.deploy;

import static dev.sapienseg.deploy.KnativeManifests.ROOT;
import static dev.sapienseg.deploy.KnativeManifests.check;
import static dev.sapienseg.deploy.KnativeManifests.object;
import static dev.sapienseg.deploy.KnativeManifests.overlays;
import static dev.sapienseg.deploy.TypedManifests.typed;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.sapienseg.docs.Markdown;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.openshift.api.model.monitoring.v1.PrometheusRule;
import io.fabric8.openshift.api.model.monitoring.v1.Rule;
import io.fabric8.openshift.api.model.monitoring.v1.ServiceMonitor;

/**
 * knative/monitoring's GPU signal ({@link MonitoringRules}): dcgm-exporter scraped with the workload's pod labels, and
 * recording rules built from real metrics (ours per the metrics table of docs/operations.md, DCGM's default fields),
 * joined on the pod and documented in docs/operations.md's "GPU signal". Shares {@link KnativeManifests}.
 */
class KnativeMonitoringManifestsTest {

    @BeforeAll
    static void render() {
        KnativeManifests.render();
    }

    private static List<ObjectNode> monitoring() {
        return overlays.get(ROOT.resolve("monitoring").normalize());
    }

    private static List<PrometheusRule> rules(List<ObjectNode> nodes) {
        return typed(nodes, new ArrayList<>()).stream().filter(PrometheusRule.class::isInstance)
                .map(PrometheusRule.class::cast).toList();
    }

    @Test
    void theGpuSignalIsScrapedAndRecordedFromRealMetricsAndDocumented() {
        List<ObjectNode> nodes = monitoring();
        assertEquals(List.of(), check(nodes));
        List<String> problems = new ArrayList<>();
        List<HasMetadata> objects = typed(nodes, problems);
        assertEquals(List.of(), problems, "typed, no unknown field");
        ServiceMonitor dcgm = objects.stream().filter(ServiceMonitor.class::isInstance).map(ServiceMonitor.class::cast)
                .findFirst().orElseThrow();
        assertEquals(MonitoringRules.DCGM_SELECTOR, dcgm.getSpec().getSelector().getMatchLabels());
        assertEquals(List.of("gpu-operator"), dcgm.getSpec().getNamespaceSelector().getMatchNames());

        Set<String> recorded = new TreeSet<>();
        rules(nodes).forEach(r -> r.getSpec().getGroups().forEach(g -> g.getRules().stream().map(Rule::getRecord)
                .forEach(recorded::add)));
        assertTrue(recorded.containsAll(Set.of("namespace_pod:sapiens_gpu_utilization:percent",
                "namespace_pod:sapiens_gpu_engine_active:ratio", "namespace_pod:sapiens_gpu_memory_used:bytes",
                "namespace_pod:sapiens_batch_size:mean5m", "namespace_pod:sapiens_queue_wait_seconds:mean5m")), recorded
                        .toString());
        assertEquals(List.of(), MonitoringRules.checkDocs(rules(nodes), Markdown.read(MonitoringRules.OPERATIONS)));

        // The metrics table is what the names are held to: histograms with their suffixes, counters as named.
        assertTrue(MonitoringRules.ourSeries().containsAll(Set.of("sapiens_batch_size_sum", "sapiens_batch_size_count",
                "sapiens_inference_queue_duration_seconds_sum", "sapiens_requests_in_flight",
                "sapiens_inference_count_total")), MonitoringRules.ourSeries().toString());
        assertEquals(List.of("sapiens_batch_sizes_sum is not a metric of ours (docs/operations.md's metrics table)"),
                MonitoringRules.unknownSeries("rate(sapiens_batch_sizes_sum[5m]) / namespace_pod:sapiens_x:y"));
    }

    /** Each mutation of knative/monitoring must be reported by {@link KnativeManifests#check}. */
    @TestFactory
    Stream<DynamicTest> brokenMonitoringIsReported() {
        record Mutation(String name, String expected, Consumer<List<ObjectNode>> change) {
        }
        List<Mutation> mutations = List.of(
                new Mutation("a misspelt metric of ours", "sapiens_batch_sizes_sum is not a metric of ours",
                        nodes -> rule(nodes, 3).put("expr", rule(nodes, 3).get("expr").asText()
                                .replace("sapiens_batch_size_sum", "sapiens_batch_sizes_sum"))),
                new Mutation("a DCGM field the exporter does not export", "DCGM_FI_DEV_GPU_UTILIZATION is not a field",
                        nodes -> rule(nodes, 0).put("expr", rule(nodes, 0).get("expr").asText()
                                .replace("DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_GPU_UTILIZATION"))),
                new Mutation("GPU series not joined to our pods", "must be aggregated by (namespace, pod) and joined",
                        nodes -> rule(nodes, 2).put("expr", "max by (namespace, pod) (DCGM_FI_DEV_FB_USED)")),
                new Mutation("a recorded name without its level", "a recorded name is namespace_pod:",
                        nodes -> rule(nodes, 0).put("record", "sapiens_gpu_utilization")),
                new Mutation("the workload's labels renamed exported_*", "honorLabels must be true",
                        nodes -> endpoint(nodes).put("honorLabels", false)),
                new Mutation("the exporter's port by another name", "port must be gpu-metrics",
                        nodes -> endpoint(nodes).put("port", "metrics")),
                new Mutation("another namespace", "namespaceSelector.matchNames must be [gpu-operator]",
                        nodes -> ((ObjectNode) object(nodes, "ServiceMonitor", "sapiens-dcgm-exporter")
                                .at("/spec/namespaceSelector")).putArray("matchNames").add("kube-system")),
                new Mutation("rules another Prometheus selects", "differ from",
                        nodes -> ((ObjectNode) object(nodes, "PrometheusRule", "sapiens-seg-gpu").at("/metadata/labels"))
                                .put("release", "other")),
                new Mutation("nobody scrapes dcgm-exporter", "no ServiceMonitor here scrapes dcgm-exporter",
                        nodes -> nodes.remove(object(nodes, "ServiceMonitor", "sapiens-dcgm-exporter"))));
        return mutations.stream().map(m -> DynamicTest.dynamicTest(m.name(), () -> {
            List<ObjectNode> copy = new ArrayList<>(monitoring().stream().map(ObjectNode::deepCopy).toList());
            m.change().accept(copy);
            List<String> problems = check(copy);
            assertTrue(problems.stream().anyMatch(p -> p.contains(m.expected())),
                    "expected a problem mentioning '" + m.expected() + "', got " + problems);
        }));
    }

    @Test
    void theDocumentedQueriesFollowTheRules() {
        List<PrometheusRule> rules = rules(monitoring());
        String page = Markdown.read(MonitoringRules.OPERATIONS);
        assertEquals(List.of("docs/operations.md has no \"### GPU signal\" section"),
                MonitoringRules.checkDocs(rules, page.replace("### GPU signal", "### GPU")));
        List<String> renamed = MonitoringRules.checkDocs(rules, page.replace("namespace_pod:sapiens_gpu_memory_used:bytes",
                "namespace_pod:sapiens_gpu_memory:bytes"));
        assertTrue(renamed.contains("docs/operations.md, GPU signal: does not name the recorded series"
                + " namespace_pod:sapiens_gpu_memory_used:bytes"), renamed.toString());
        assertTrue(renamed.contains("docs/operations.md, GPU signal: namespace_pod:sapiens_gpu_memory:bytes is recorded"
                + " by no rule"), renamed.toString());
        List<String> misspelt = MonitoringRules.checkDocs(rules, page.replace("# sapiens_requests_in_flight",
                "# sapiens_request_in_flight"));
        assertTrue(misspelt.stream().anyMatch(p -> p.contains("sapiens_request_in_flight is not a metric of ours")),
                misspelt.toString());
    }

    private static ObjectNode rule(List<ObjectNode> nodes, int index) {
        return (ObjectNode) object(nodes, "PrometheusRule", "sapiens-seg-gpu").at("/spec/groups/0/rules/" + index);
    }

    private static ObjectNode endpoint(List<ObjectNode> nodes) {
        return (ObjectNode) object(nodes, "ServiceMonitor", "sapiens-dcgm-exporter").at("/spec/endpoints/0");
    }
}
