package dev.sapienseg.deploy;

import static dev.sapienseg.deploy.KnativeManifests.FEATURES_PATCH;
import static dev.sapienseg.deploy.KnativeManifests.featuresPatch;
import static dev.sapienseg.deploy.KnativeManifests.find;
import static dev.sapienseg.deploy.KnativeManifests.name;
import static dev.sapienseg.deploy.KnativeManifests.neededFlags;

import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

import com.fasterxml.jackson.databind.node.ObjectNode;

import dev.sapienseg.model.ExecutionProvider;
import io.fabric8.knative.serving.v1.RevisionSpec;
import io.fabric8.knative.serving.v1.Service;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvFromSource;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HTTPGetAction;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;

/**
 * The function's Knative Service and its pod: pod fields Knative accepts, one port (the application's), the SmallRye
 * Health probes, batching, concurrency and autoscaling that let batches fill, node selection, the model cache volume
 * and the feature flags the pod spec needs; and the configuration the pod ends up with. Timeouts, start-up window and
 * host memory are {@link BudgetRules}; the image variant, its device, GPU memory and CPU sizing {@link GpuSizingRules}.
 */
final class ServiceRules {

    /** Ports queue-proxy and Knative reserve in the pod. */
    static final Set<Integer> RESERVED_PORTS = Set.of(8012, 8013, 8022, 9090, 9091, 8008);
    /** Container port names Knative accepts. */
    static final Set<String> PORT_NAMES = Set.of("", "http1", "h2c");
    /** Pod fields Knative's webhook refuses (the grace period is the revision's timeoutSeconds). */
    static final List<String> FORBIDDEN_POD_FIELDS = List.of("terminationGracePeriodSeconds", "activeDeadlineSeconds",
            "restartPolicy", "hostNetwork", "hostPID", "hostIPC", "nodeName");
    /** Labels every node carries (the kubelet sets them); anything else exists only where some add-on adds it. */
    static final Set<String> WELL_KNOWN_NODE_LABELS = Set.of("kubernetes.io/arch", "kubernetes.io/os");

    private ServiceRules() {
    }

    static void checkFunction(Service service, List<HasMetadata> objects, AppConfig app, List<String> problems) {
        String where = "Service " + name(service) + ": ";
        RevisionSpec pod = service.getSpec().getTemplate().getSpec();
        Map<String, String> annotations = service.getSpec().getTemplate().getMetadata() == null ? Map.of()
                : Objects.requireNonNullElse(service.getSpec().getTemplate().getMetadata().getAnnotations(), Map.of());
        if (pod.getContainers().size() != 1) {
            problems.add(where + "one container expected");
            return;
        }
        Container c = pod.getContainers().get(0);
        AppConfig cfg = podConfig(service, objects, app, problems);
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
        long timeout = BudgetRules.checkTimeouts(where, pod, cfg, problems);

        // The image variant with its provider and device, CPU and GPU memory sizing (GpuSizingRules); the start-up
        // window for that provider (with TensorRT, one engine build per batch size).
        Map<String, Quantity> limits = c.getResources() == null || c.getResources().getLimits() == null ? Map.of()
                : c.getResources().getLimits();
        String provider = cfg.get("sapiens.execution.provider").toLowerCase(Locale.ROOT);
        BudgetRules.checkStartupWindow(where, c.getStartupProbe(), annotations,
                ExecutionProvider.valueOf(provider.toUpperCase(Locale.ROOT)), GpuSizingRules.batchSizes(cfg).size(),
                problems);
        GpuSizingRules.checkImageAndDevice(where, pod, c, cfg, problems);
        int intraOp = cfg.getInt("sapiens.execution.intra-op-threads");
        Quantity cpuRequest = c.getResources() == null || c.getResources().getRequests() == null ? null
                : c.getResources().getRequests().get("cpu");
        if (intraOp > 0 && cpuRequest != null && intraOp > Quantity.getAmountInBytes(cpuRequest).doubleValue()) {
            problems.add(where + "more ONNX Runtime threads (" + intraOp + ") than requested CPUs (" + cpuRequest + ")");
        }

        BudgetRules.checkMemory(where, cfg, limits, provider, problems);
        BudgetRules.checkDeadlines(where, cfg, timeout, provider, problems);

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

    /** The application's configuration in the function's pod: its env and envFrom ConfigMaps on the defaults. */
    static AppConfig podConfig(Service service, List<HasMetadata> objects, AppConfig app, List<String> problems) {
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
            app.unknownVariable(name).or(() -> app.ignoredMapVariable(name)).ifPresent(why -> problems.add(where + why));
        }
        return app.withEnvironment(env);
    }
}
