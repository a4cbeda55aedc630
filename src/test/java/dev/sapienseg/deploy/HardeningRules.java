package dev.sapienseg.deploy;

import static dev.sapienseg.deploy.KnativeManifests.name;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

import io.fabric8.knative.serving.v1.RevisionSpec;
import io.fabric8.knative.serving.v1.Service;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.openshift.api.model.monitoring.v1.PodMonitor;

/**
 * Hardening: the "restricted" Pod Security Standard for every container, no service account token, pinned images,
 * ingress NetworkPolicies that admit only Knative's data plane to named ports, and the monitoring (PodMonitor) that
 * has to get through them.
 */
final class HardeningRules {

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

    private HardeningRules() {
    }

    /**
     * Every Service (the dead-letter sink too): no service account token, every container hardened, and images other
     * than the function's pinned by digest.
     */
    static void checkServiceHardening(Service service, List<Service> functions, List<String> problems) {
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
}
