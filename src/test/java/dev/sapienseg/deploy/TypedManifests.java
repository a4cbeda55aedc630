package dev.sapienseg.deploy;

import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.fabric8.knative.eventing.v1.Broker;
import io.fabric8.knative.eventing.v1.Trigger;
import io.fabric8.knative.serving.v1.Service;
import io.fabric8.knative.sources.v1alpha1.IntegrationSource;
import io.fabric8.knative.sources.v1beta1.KafkaSource;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.openshift.api.model.monitoring.v1.PodMonitor;
import io.fabric8.openshift.api.model.monitoring.v1.PrometheusRule;
import io.fabric8.openshift.api.model.monitoring.v1.ServiceMonitor;

/**
 * Manifests read into typed fabric8 objects: every kind knative/ may hold has a model here, and a field the model
 * does not know (kept in {@code getAdditionalProperties()}) or drops on the way in is reported, not ignored. Used for
 * knative/ and for deploy/kserve (KServeManifestTest).
 */
final class TypedManifests {

    /** Typed classes for every kind the manifests may hold. */
    static final Map<String, Class<? extends HasMetadata>> TYPES = Map.ofEntries(
            Map.entry("serving.knative.dev/v1/Service", Service.class),
            Map.entry("eventing.knative.dev/v1/Broker", Broker.class),
            Map.entry("eventing.knative.dev/v1/Trigger", Trigger.class),
            Map.entry("sources.knative.dev/v1beta1/KafkaSource", KafkaSource.class),
            Map.entry("sources.knative.dev/v1alpha1/IntegrationSource", IntegrationSource.class),
            Map.entry("networking.k8s.io/v1/NetworkPolicy", NetworkPolicy.class),
            Map.entry("monitoring.coreos.com/v1/PodMonitor", PodMonitor.class),
            Map.entry("monitoring.coreos.com/v1/ServiceMonitor", ServiceMonitor.class),
            Map.entry("monitoring.coreos.com/v1/PrometheusRule", PrometheusRule.class),
            Map.entry("v1/Namespace", Namespace.class),
            Map.entry("v1/ConfigMap", ConfigMap.class),
            Map.entry("v1/PersistentVolumeClaim", PersistentVolumeClaim.class),
            Map.entry("batch/v1/Job", io.fabric8.kubernetes.api.model.batch.v1.Job.class));

    private TypedManifests() {
    }

    static List<HasMetadata> typed(List<ObjectNode> nodes, List<String> problems) {
        List<HasMetadata> out = new ArrayList<>();
        for (ObjectNode node : nodes) {
            HasMetadata o = typed(node, node.path("kind").asText() + " " + node.at("/metadata/name").asText(), problems);
            if (o != null) {
                out.add(o);
            }
        }
        return out;
    }

    static HasMetadata typed(ObjectNode node, String where, List<String> problems) {
        String key = node.path("apiVersion").asText() + "/" + node.path("kind").asText();
        Class<? extends HasMetadata> type = TYPES.get(key);
        if (type == null) {
            problems.add(where + ": no typed model for " + key + " (add it to TYPES)");
            return null;
        }
        HasMetadata o;
        try {
            o = Kustomize.YAML.treeToValue(node, type);
        } catch (IOException e) {
            problems.add(where + ": does not parse as " + type.getName() + ": " + e.getMessage());
            return null;
        }
        if (o.getMetadata() == null || o.getMetadata().getName() == null) {
            problems.add(where + ": metadata.name is required");
        }
        additionalProperties(o, type.getSimpleName(), problems, Collections.newSetFromMap(new IdentityHashMap<>()));
        // Custom deserializers (Quantity, IntOrString) can drop fields without keeping them: compare the round trip.
        droppedFields(node, Kustomize.YAML.valueToTree(o), type.getSimpleName(), problems);
        return o;
    }

    /** Fields of the source that the typed object does not give back, or gives back with another value. */
    static void droppedFields(JsonNode source, JsonNode back, String path, List<String> problems) {
        if (source.isObject()) {
            if (!back.isObject()) {
                problems.add(path + ": read as " + back.getNodeType() + ", not as an object");
                return;
            }
            source.fields().forEachRemaining(e -> {
                if (e.getValue().isNull() || (e.getValue().isContainerNode() && e.getValue().isEmpty())) {
                    return; // the model leaves out empty lists and maps, as Kubernetes does
                }
                JsonNode b = back.get(e.getKey());
                if (b == null || b.isNull()) {
                    problems.add(path + ": field " + e.getKey() + " is dropped by the typed model");
                } else {
                    droppedFields(e.getValue(), b, path + "." + e.getKey(), problems);
                }
            });
        } else if (source.isArray()) {
            if (!back.isArray() || back.size() != source.size()) {
                problems.add(path + ": list not read back whole");
                return;
            }
            for (int i = 0; i < source.size(); i++) {
                droppedFields(source.get(i), back.get(i), path + "[" + i + "]", problems);
            }
        } else if (!source.asText().equals(back.asText())) {
            problems.add(path + ": " + source + " is read as " + back);
        }
    }

    /** Unknown (misspelled) fields of a YAML document, as paths; empty when every field is known. */
    static List<String> unknownFields(String yaml) {
        List<String> problems = new ArrayList<>();
        for (ObjectNode doc : Kustomize.readDocuments(yaml, "inline")) {
            typed(doc, "inline", problems);
        }
        return problems;
    }

    /** Walks the typed object graph: every fabric8 object must have kept no field in getAdditionalProperties(). */
    static void additionalProperties(Object o, String path, List<String> problems, Set<Object> seen) {
        if (o == null || o instanceof String || o instanceof Number || o instanceof Boolean || o instanceof Enum<?>
                || !seen.add(o)) {
            return;
        }
        if (o instanceof Collection<?> items) {
            int i = 0;
            for (Object item : items) {
                additionalProperties(item, path + "[" + i++ + "]", problems, seen);
            }
            return;
        }
        if (o instanceof Map<?, ?> map) {
            map.forEach((k, v) -> additionalProperties(v, path + "." + k, problems, seen));
            return;
        }
        if (!o.getClass().getName().startsWith("io.fabric8.")) {
            return;
        }
        for (Method m : o.getClass().getMethods()) {
            if (m.getParameterCount() != 0 || Modifier.isStatic(m.getModifiers()) || m.getDeclaringClass() == Object.class) {
                continue;
            }
            String name = m.getName();
            try {
                if (name.equals("getAdditionalProperties")) {
                    Map<?, ?> extra = (Map<?, ?>) m.invoke(o);
                    if (extra != null && !extra.isEmpty()) {
                        problems.add(path + ": unknown fields " + extra.keySet());
                    }
                } else if (name.startsWith("get") && name.length() > 3 && !isDerived(name)) {
                    String property = Character.toLowerCase(name.charAt(3)) + name.substring(4);
                    additionalProperties(m.invoke(o), path + "." + property, problems, seen);
                }
            } catch (ReflectiveOperationException e) {
                problems.add(path + "." + name + ": " + e.getCause());
            }
        }
    }

    /** Getters that compute from other fields rather than hold one. */
    private static boolean isDerived(String getter) {
        return Set.of("getPlural", "getSingular", "getFullResourceName", "getNumericalAmount", "getKind",
                "getApiVersion").contains(getter);
    }
}
