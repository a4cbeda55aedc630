package dev.sapienseg.deploy;

import static dev.sapienseg.deploy.TypedManifests.typed;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.fabric8.knative.eventing.v1.Broker;
import io.fabric8.knative.eventing.v1.Trigger;
import io.fabric8.knative.serving.v1.RevisionSpec;
import io.fabric8.knative.serving.v1.Service;
import io.fabric8.knative.sources.v1alpha1.IntegrationSource;
import io.fabric8.knative.sources.v1beta1.KafkaSource;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.openshift.api.model.monitoring.v1.PodMonitor;
import io.fabric8.openshift.api.model.monitoring.v1.PrometheusRule;
import io.fabric8.openshift.api.model.monitoring.v1.ServiceMonitor;

/**
 * knative/ as {@code kubectl apply -k} renders it, shared by the Knative*ManifestsTest classes: the overlays (rendered
 * once per test run), the application's configuration, {@link #check} of one rendered overlay (which runs every rule
 * family: {@link ServiceRules}, {@link BudgetRules}, {@link GpuSizingRules}, {@link EventingRules},
 * {@link HardeningRules}, {@link MonitoringRules}), the cluster's
 * feature flags, and lookups and mutation helpers on rendered objects.
 */
final class KnativeManifests {

    static final Path ROOT = Path.of("knative");
    static final Path APPLICATION_PROPERTIES = Path.of("src/main/resources/application.properties");
    static final Path FEATURES_PATCH = ROOT.resolve("cluster/config-features-patch.yaml");
    static final Path IMAGES_COMPONENT = ROOT.resolve("images");
    static final Path README = ROOT.resolve("README.md");
    static final Path OPERATOR_FEATURES = ROOT.resolve("cluster/knative-serving-features.yaml");

    static AppConfig app;
    static Map<Path, List<ObjectNode>> overlays;
    /** knative/backfill: a Job applied next to a function overlay, not a function overlay itself. */
    static List<ObjectNode> backfill;
    static Set<Path> filesRead;
    static String functionImage;

    private KnativeManifests() {
    }

    /** The function's image name, as knative/images sets it (the one place to retarget images). */
    static String functionImageName() {
        return Kustomize.load(IMAGES_COMPONENT).imagesOrEmpty().get(0).newName();
    }

    /** Renders knative/ once for the whole test run; every test class calls this from its {@code @BeforeAll}. */
    static synchronized void render() {
        if (overlays != null) {
            return; // rendered for an earlier test class
        }
        app = AppConfig.load(APPLICATION_PROPERTIES);
        Kustomize.Kustomization images = Kustomize.load(IMAGES_COMPONENT);
        assertEquals("Component", images.kind(), "knative/images is the one place images are retargeted");
        assertEquals(1, images.imagesOrEmpty().size(), "knative/images names the function's image");
        functionImage = images.imagesOrEmpty().get(0).newName();
        assertNotNull(functionImage, "knative/images: newName (your registry)");
        Map<Path, List<ObjectNode>> rendered = new LinkedHashMap<>();
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
                rendered.put(dir, Kustomize.build(dir, filesRead));
            }
        }
        overlays = rendered; // last: after a failure, the next test class renders (and fails) again
    }

    /** Everything wrong with one rendered overlay (empty when it is right). */
    static List<String> check(List<ObjectNode> nodes) {
        return check(nodes, app);
    }

    /** The same check against another configuration of the application (applicationChangesAreReported). */
    static List<String> check(List<ObjectNode> nodes, AppConfig application) {
        List<String> problems = new ArrayList<>();
        List<HasMetadata> objects = typed(nodes, problems);
        List<Service> functions = functionServices(objects);
        if (functions.isEmpty()) {
            problems.add("no Service runs " + functionImage);
        }
        for (Service s : functions) {
            ServiceRules.checkFunction(s, objects, application, problems);
        }
        AppConfig config = functions.isEmpty() ? application
                : ServiceRules.podConfig(functions.get(0), objects, application, new ArrayList<>());
        for (HasMetadata o : objects) {
            if (o instanceof Trigger t) {
                EventingRules.checkTrigger(t, objects, functions, config, problems);
            } else if (o instanceof Broker b) {
                EventingRules.checkDelivery("Broker " + name(b), b.getSpec().getDelivery(), objects, functions,
                        problems);
            } else if (o instanceof KafkaSource k) {
                EventingRules.checkKafkaSource(k, objects, functions, problems);
            } else if (o instanceof IntegrationSource i) {
                EventingRules.checkIntegrationSource(i, objects, problems);
            } else if (o instanceof Service service) {
                HardeningRules.checkServiceHardening(service, functions, problems);
            }
        }
        HardeningRules.checkNetworkPolicies(objects, functions, problems);
        for (HasMetadata o : objects) {
            if (o instanceof PodMonitor monitor) {
                HardeningRules.checkPodMonitor(monitor, objects, functions, config, problems);
            } else if (o instanceof ServiceMonitor monitor) {
                MonitoringRules.checkServiceMonitor(monitor, problems);
            } else if (o instanceof PrometheusRule rule) {
                MonitoringRules.checkPrometheusRule(rule, objects, problems);
            }
        }
        BudgetRules.checkBodyLimits(nodes, config, problems);
        return problems;
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
