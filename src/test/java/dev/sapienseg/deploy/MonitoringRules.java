package dev.sapienseg.deploy;

import static dev.sapienseg.deploy.KnativeManifests.name;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.sapienseg.docs.Markdown;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.openshift.api.model.monitoring.v1.Endpoint;
import io.fabric8.openshift.api.model.monitoring.v1.PodMonitor;
import io.fabric8.openshift.api.model.monitoring.v1.PrometheusRule;
import io.fabric8.openshift.api.model.monitoring.v1.Rule;
import io.fabric8.openshift.api.model.monitoring.v1.RuleGroup;
import io.fabric8.openshift.api.model.monitoring.v1.ServiceMonitor;

/**
 * The GPU signal of knative/monitoring: a ServiceMonitor that scrapes NVIDIA's dcgm-exporter as the GPU Operator
 * deploys it, with the workload's pod labels, and recording rules whose every series is a real metric: ours as the one
 * metrics table (docs/operations.md) names them, DCGM's as the exporter's default field list has them, joined on the
 * pod. The PodMonitor of our own /q/metrics is {@link HardeningRules#checkPodMonitor}.
 */
final class MonitoringRules {

    static final Path OPERATIONS = Path.of("docs/operations.md");
    /**
     * dcgm-exporter as NVIDIA's GPU Operator deploys it (gpu-operator's assets/state-dcgm-exporter): the Service
     * nvidia-dcgm-exporter, label app: nvidia-dcgm-exporter, port gpu-metrics (9400), in the operator's namespace.
     */
    static final String DCGM_NAMESPACE = "gpu-operator";
    static final Map<String, String> DCGM_SELECTOR = Map.of("app", "nvidia-dcgm-exporter");
    static final String DCGM_PORT = "gpu-metrics";
    /**
     * Fields the GPU Operator's dcgm-exporter exports by default (its DCGM_EXPORTER_COLLECTORS,
     * dcp-metrics-included.csv) that a rule may use. DCGM_FI_DEV_GPU_UTIL is not reported for MIG slices; the
     * profiling fields (DCGM_FI_PROF_*) are, on Volta and newer.
     */
    static final Set<String> DCGM_FIELDS = Set.of("DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_MEM_COPY_UTIL",
            "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE", "DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_PROF_GR_ENGINE_ACTIVE",
            "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", "DCGM_FI_PROF_DRAM_ACTIVE");
    /** A series of ours in PromQL (not the tail of a recorded name such as namespace_pod:sapiens_x:y). */
    static final Pattern OUR_SERIES = Pattern.compile("(?<![\\w:])(sapiens_[a-z0-9_]+)");
    static final Pattern DCGM_SERIES = Pattern.compile("(?<![\\w:])(DCGM_FI_[A-Z0-9_]+)");
    /** Recorded series: level:metric:operations, per pod. */
    static final Pattern RECORD = Pattern.compile("namespace_pod:sapiens_[a-z0-9_]+:[a-z0-9_]+");
    static final String POD_JOIN = "on (namespace, pod)";
    static final String POD_LEVEL = "by (namespace, pod)";

    private static Set<String> ourSeries;

    private MonitoringRules() {
    }

    /** Our series names as Prometheus has them, from the one metrics table: a histogram's with its suffixes. */
    static synchronized Set<String> ourSeries() {
        if (ourSeries == null) {
            Set<String> names = new TreeSet<>();
            Pattern meter = Pattern.compile("`(sapiens_[a-z0-9_]+)`");
            for (List<String> row : Markdown.tableRows(Markdown.read(OPERATIONS))) {
                Matcher m = meter.matcher(row.get(0));
                if (m.find()) {
                    names.add(m.group(1));
                    if (row.get(0).contains("(histogram)")) {
                        for (String suffix : List.of("_bucket", "_sum", "_count", "_max")) {
                            names.add(m.group(1) + suffix);
                        }
                    }
                }
            }
            ourSeries = names;
        }
        return ourSeries;
    }

    /** The series of PromQL text that are neither ours (per the metrics table) nor DCGM fields the exporter exports. */
    static List<String> unknownSeries(String promql) {
        List<String> unknown = new ArrayList<>();
        Matcher ours = OUR_SERIES.matcher(promql);
        while (ours.find()) {
            if (!ourSeries().contains(ours.group(1))) {
                unknown.add(ours.group(1) + " is not a metric of ours (docs/operations.md's metrics table)");
            }
        }
        Matcher dcgm = DCGM_SERIES.matcher(promql);
        while (dcgm.find()) {
            if (!DCGM_FIELDS.contains(dcgm.group(1))) {
                unknown.add(dcgm.group(1) + " is not a field the GPU Operator's dcgm-exporter exports by default");
            }
        }
        return unknown;
    }

    /**
     * A ServiceMonitor here scrapes dcgm-exporter (our own pods are scraped by the PodMonitor: Knative's Services route
     * to queue-proxy): in the GPU Operator's namespace, on its port, with honorLabels so that the pod, namespace and
     * container labels stay the workload's (else Prometheus renames them exported_*, and no join on the pod matches).
     */
    static void checkServiceMonitor(ServiceMonitor monitor, List<String> problems) {
        String where = "ServiceMonitor " + name(monitor) + ": ";
        Map<String, String> selector = monitor.getSpec().getSelector() == null ? Map.of()
                : Objects.requireNonNullElse(monitor.getSpec().getSelector().getMatchLabels(), Map.of());
        if (!DCGM_SELECTOR.equals(selector)) {
            problems.add(where + "selects " + selector + ", not dcgm-exporter's Service " + DCGM_SELECTOR
                    + " (the function's pods are scraped by the PodMonitor)");
        }
        List<String> namespaces = monitor.getSpec().getNamespaceSelector() == null ? List.of()
                : Objects.requireNonNullElse(monitor.getSpec().getNamespaceSelector().getMatchNames(), List.of());
        if (!List.of(DCGM_NAMESPACE).equals(namespaces)) {
            problems.add(where + "namespaceSelector.matchNames must be [" + DCGM_NAMESPACE + "] (the GPU Operator's"
                    + " namespace), not " + namespaces);
        }
        if (monitor.getSpec().getEndpoints().isEmpty()) {
            problems.add(where + "no endpoints");
        }
        for (Endpoint e : monitor.getSpec().getEndpoints()) {
            if (!DCGM_PORT.equals(e.getPort())) {
                problems.add(where + "port must be " + DCGM_PORT + " (dcgm-exporter's Service port), not " + e.getPort());
            }
            if (!Boolean.TRUE.equals(e.getHonorLabels())) {
                problems.add(where + "honorLabels must be true: else the workload's pod and namespace labels become"
                        + " exported_pod/exported_namespace and the join " + POD_JOIN + " finds nothing");
            }
        }
    }

    /**
     * Recording rules: per-pod names, every series real, GPU series aggregated per pod and joined to a series of ours
     * on the pod; dcgm-exporter scraped; and the rule, the ServiceMonitor and the PodMonitor selected by the same
     * labels (one Prometheus).
     */
    static void checkPrometheusRule(PrometheusRule rule, List<HasMetadata> objects, List<String> problems) {
        String where = "PrometheusRule " + name(rule) + ": ";
        boolean usesDcgm = false;
        Set<String> recorded = new TreeSet<>();
        for (RuleGroup group : rule.getSpec().getGroups()) {
            for (Rule r : group.getRules()) {
                String expr = r.getExpr() == null ? "" : Objects.requireNonNullElse(r.getExpr().getStrVal(), "");
                String id = where + (r.getRecord() != null ? r.getRecord() : "alert " + r.getAlert()) + ": ";
                if (r.getRecord() != null && !RECORD.matcher(r.getRecord()).matches()) {
                    problems.add(id + "a recorded name is namespace_pod:sapiens_<metric>:<operation> (per pod)");
                }
                if (r.getRecord() != null && !recorded.add(r.getRecord())) {
                    problems.add(id + "recorded twice");
                }
                unknownSeries(expr).forEach(p -> problems.add(id + p));
                if (DCGM_SERIES.matcher(expr).find()) {
                    usesDcgm = true;
                    if (!expr.contains(POD_LEVEL) || !expr.contains(POD_JOIN) || !OUR_SERIES.matcher(expr).find()) {
                        problems.add(id + "a GPU series must be aggregated " + POD_LEVEL + " and joined " + POD_JOIN
                                + " to a series of ours (only our pods' GPUs)");
                    }
                }
            }
        }
        if (usesDcgm && objects.stream().noneMatch(o -> o instanceof ServiceMonitor m && m.getSpec().getSelector() != null
                && DCGM_SELECTOR.equals(m.getSpec().getSelector().getMatchLabels()))) {
            problems.add(where + "uses DCGM series, but no ServiceMonitor here scrapes dcgm-exporter");
        }
        for (HasMetadata o : objects) {
            if ((o instanceof ServiceMonitor || o instanceof PodMonitor) && !Objects.equals(labels(o), labels(rule))) {
                problems.add(where + "labels " + labels(rule) + " differ from " + o.getKind() + " " + name(o) + "'s "
                        + labels(o) + ": one Prometheus' selectors must pick all of them");
            }
        }
    }

    /** The "GPU signal" section of docs/operations.md names every recorded series, and only real ones. */
    static List<String> checkDocs(List<PrometheusRule> rules, String operations) {
        List<String> problems = new ArrayList<>();
        int start = operations.indexOf("\n### GPU signal\n");
        if (start < 0) {
            return List.of("docs/operations.md has no \"### GPU signal\" section");
        }
        int end = operations.indexOf("\n##", start + 1); // the next heading (a code block's comments are "# ")
        String section = end < 0 ? operations.substring(start) : operations.substring(start, end);
        Set<String> recorded = new TreeSet<>();
        rules.forEach(r -> r.getSpec().getGroups().forEach(g -> g.getRules().stream().map(Rule::getRecord)
                .filter(Objects::nonNull).forEach(recorded::add)));
        for (String record : recorded) {
            if (!section.contains(record)) {
                problems.add("docs/operations.md, GPU signal: does not name the recorded series " + record);
            }
        }
        Matcher named = RECORD.matcher(section);
        while (named.find()) {
            if (!recorded.contains(named.group())) {
                problems.add("docs/operations.md, GPU signal: " + named.group() + " is recorded by no rule");
            }
        }
        unknownSeries(section).forEach(p -> problems.add("docs/operations.md, GPU signal: " + p));
        return problems;
    }

    private static Map<String, String> labels(HasMetadata o) {
        return Objects.requireNonNullElse(o.getMetadata().getLabels(), Map.of());
    }
}
