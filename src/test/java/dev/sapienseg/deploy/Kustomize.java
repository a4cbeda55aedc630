package dev.sapienseg.deploy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

/**
 * The part of {@code kustomize build} that knative/ uses, so that the test sees the objects a user's
 * {@code kubectl apply -k} would create: resources (files and directories), components, {@code patches} (JSON 6902
 * op lists, and strategic merge patches of maps only), {@code images} and {@code namespace}. A kustomization field it
 * does not know fails the build instead of being ignored; so does a path that does not exist.
 */
final class Kustomize {

    /** Strict YAML: duplicate keys fail (YAML would silently keep the last one). */
    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .disable(DeserializationFeature.ACCEPT_SINGLE_VALUE_AS_ARRAY);

    static final String FILE = "kustomization.yaml";

    record Target(String group, String version, String kind, String name) {
    }

    record Patch(String path, Target target) {
    }

    record Image(String name, String newName, String newTag, String digest) {
    }

    /** The fields of a kustomization file we support; any other field fails to parse. */
    record Kustomization(String apiVersion, String kind, String namespace, List<String> resources,
            List<String> components, List<Patch> patches, List<Image> images) {

        List<String> resourcesOrEmpty() {
            return resources == null ? List.of() : resources;
        }

        List<String> componentsOrEmpty() {
            return components == null ? List.of() : components;
        }

        List<Patch> patchesOrEmpty() {
            return patches == null ? List.of() : patches;
        }

        List<Image> imagesOrEmpty() {
            return images == null ? List.of() : images;
        }
    }

    private static final Set<String> CLUSTER_SCOPED = Set.of("Namespace", "ClusterRole", "ClusterRoleBinding",
            "CustomResourceDefinition", "PersistentVolume", "StorageClass");

    private Kustomize() {
    }

    static Kustomization load(Path dir) {
        Path file = dir.resolve(FILE);
        if (!Files.isRegularFile(file)) {
            throw new AssertionError("no " + FILE + " in " + dir);
        }
        try {
            return YAML.readValue(file.toFile(), Kustomization.class);
        } catch (IOException e) {
            throw new AssertionError(file + ": " + e.getMessage(), e);
        }
    }

    /** Every YAML document of a file, in order (empty documents skipped). */
    static List<ObjectNode> readDocuments(Path file) {
        try {
            return readDocuments(Files.readString(file), file.toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<ObjectNode> readDocuments(String yaml, String where) {
        List<ObjectNode> docs = new ArrayList<>();
        try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(yaml)) {
            while (it.hasNext()) {
                JsonNode doc = it.next();
                if (doc == null || doc.isNull() || doc.isMissingNode()) {
                    continue;
                }
                if (!doc.isObject()) {
                    throw new AssertionError(where + ": a document is not a mapping: " + doc);
                }
                docs.add((ObjectNode) doc);
            }
        } catch (IOException | RuntimeException e) { // the iterator wraps parse errors in RuntimeExceptions
            throw new AssertionError(where + ": " + e.getMessage(), e);
        }
        return docs;
    }

    /** {@code kustomize build dir}: the objects, transformed. {@code files} collects every file read. */
    static List<ObjectNode> build(Path dir, Set<Path> files) {
        Kustomization k = load(dir);
        files.add(dir.resolve(FILE).normalize());
        if (!"kustomize.config.k8s.io/v1beta1".equals(k.apiVersion()) || !"Kustomization".equals(k.kind())) {
            throw new AssertionError(dir + ": expected kustomize.config.k8s.io/v1beta1 Kustomization, got "
                    + k.apiVersion() + " " + k.kind());
        }
        List<ObjectNode> objects = new ArrayList<>();
        for (String r : k.resourcesOrEmpty()) {
            Path p = existing(dir, r);
            if (Files.isDirectory(p)) {
                objects.addAll(build(p, files));
            } else {
                files.add(p);
                objects.addAll(readDocuments(p));
            }
        }
        for (String c : k.componentsOrEmpty()) {
            Path p = existing(dir, c);
            Kustomization component = load(p);
            files.add(p.resolve(FILE).normalize());
            if (!"kustomize.config.k8s.io/v1alpha1".equals(component.apiVersion())
                    || !"Component".equals(component.kind())) {
                throw new AssertionError(p + ": a component must be kustomize.config.k8s.io/v1alpha1 Component");
            }
            if (component.namespace() != null || !component.componentsOrEmpty().isEmpty()) {
                throw new AssertionError(p + ": namespace and nested components are not used in components here");
            }
            for (String r : component.resourcesOrEmpty()) {
                Path rp = existing(p, r);
                files.add(rp);
                objects.addAll(readDocuments(rp));
            }
            transform(p, component, objects, files);
        }
        transform(dir, k, objects, files);
        return objects;
    }

    private static void transform(Path dir, Kustomization k, List<ObjectNode> objects, Set<Path> files) {
        for (Patch patch : k.patchesOrEmpty()) {
            Path p = existing(dir, patch.path());
            files.add(p);
            applyPatch(p, patch.target(), objects);
        }
        for (Image image : k.imagesOrEmpty()) {
            int changed = 0;
            for (ObjectNode o : objects) {
                changed += retarget(o, image);
            }
            if (changed == 0) {
                throw new AssertionError(dir + ": images entry " + image.name() + " matches no container");
            }
        }
        if (k.namespace() != null) {
            for (ObjectNode o : objects) {
                if (!CLUSTER_SCOPED.contains(o.path("kind").asText())) {
                    ((ObjectNode) o.with("metadata")).put("namespace", k.namespace());
                }
            }
        }
    }

    private static Path existing(Path dir, String relative) {
        Path p = dir.resolve(relative).normalize();
        if (!Files.exists(p)) {
            throw new AssertionError(dir.resolve(FILE) + " refers to " + relative + ", which does not exist");
        }
        return p;
    }

    private static void applyPatch(Path file, Target target, List<ObjectNode> objects) {
        List<ObjectNode> docs;
        JsonNode tree;
        try {
            tree = YAML.readTree(file.toFile());
        } catch (IOException e) {
            throw new AssertionError(file + ": " + e.getMessage(), e);
        }
        if (tree.isArray()) { // JSON 6902
            if (target == null) {
                throw new AssertionError(file + ": a JSON 6902 patch needs a target");
            }
            List<ObjectNode> matches = objects.stream().filter(o -> matches(o, target)).toList();
            if (matches.isEmpty()) {
                throw new AssertionError(file + ": patch target " + target + " matches nothing");
            }
            for (ObjectNode o : matches) {
                JsonPatch.apply(o, (ArrayNode) tree, file.toString());
            }
            return;
        }
        docs = readDocuments(file);
        for (ObjectNode patch : docs) { // strategic merge, maps only
            Target t = target != null ? target
                    : new Target(null, null, patch.path("kind").asText(), patch.path("metadata").path("name").asText());
            List<ObjectNode> matches = objects.stream().filter(o -> matches(o, t)).toList();
            if (matches.isEmpty()) {
                throw new AssertionError(file + ": patch target " + t + " matches nothing");
            }
            for (ObjectNode o : matches) {
                mergeMaps(o, patch, file + ":");
            }
        }
    }

    private static boolean matches(ObjectNode o, Target t) {
        return (t.kind() == null || t.kind().equals(o.path("kind").asText()))
                && (t.name() == null || t.name().equals(o.path("metadata").path("name").asText()))
                && (t.group() == null || o.path("apiVersion").asText().startsWith(t.group() + "/"))
                && (t.version() == null || o.path("apiVersion").asText().endsWith("/" + t.version())
                        || o.path("apiVersion").asText().equals(t.version()));
    }

    /**
     * Strategic merge limited to maps: kustomize merges lists of built-in kinds by key but replaces them whole in
     * custom resources, so patches here must not contain lists (use a JSON 6902 patch for those).
     */
    private static void mergeMaps(ObjectNode into, ObjectNode patch, String where) {
        Iterator<Map.Entry<String, JsonNode>> it = patch.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            String at = where + "/" + e.getKey();
            JsonNode value = e.getValue();
            if (value.isArray()) {
                throw new AssertionError(at + ": strategic merge patches with lists are not used here; use JSON 6902");
            }
            if (value.isObject() && into.get(e.getKey()) instanceof ObjectNode child) {
                mergeMaps(child, (ObjectNode) value, at);
            } else if (value.isNull()) {
                into.remove(e.getKey());
            } else {
                into.set(e.getKey(), value.deepCopy());
            }
        }
    }

    /** kustomize's images transformer: every {@code containers}/{@code initContainers} image named {@code name}. */
    private static int retarget(JsonNode node, Image image) {
        int changed = 0;
        if (node.isObject()) {
            Iterator<Map.Entry<String, JsonNode>> it = node.fields();
            while (it.hasNext()) {
                Map.Entry<String, JsonNode> e = it.next();
                if ((e.getKey().equals("containers") || e.getKey().equals("initContainers")) && e.getValue().isArray()) {
                    for (JsonNode c : e.getValue()) {
                        if (c instanceof ObjectNode container && container.path("image").isTextual()) {
                            String updated = retargetImage(container.get("image").asText(), image);
                            if (updated != null) {
                                container.set("image", TextNode.valueOf(updated));
                                changed++;
                            }
                        }
                    }
                } else {
                    changed += retarget(e.getValue(), image);
                }
            }
        } else if (node.isArray()) {
            for (JsonNode child : node) {
                changed += retarget(child, image);
            }
        }
        return changed;
    }

    /** The new reference, or null when the image is not the one named. */
    static String retargetImage(String reference, Image image) {
        String name = imageName(reference);
        if (!name.equals(image.name())) {
            return null;
        }
        String rest = reference.substring(name.length()); // ":tag", "@sha256:…", ":tag@sha256:…" or ""
        String tag = rest.startsWith(":") ? rest.substring(1).split("@", 2)[0] : null;
        String digest = rest.contains("@") ? rest.substring(rest.indexOf('@') + 1) : null;
        StringBuilder out = new StringBuilder(image.newName() != null ? image.newName() : name);
        if (image.digest() != null) {
            return out.append('@').append(image.digest()).toString();
        }
        String newTag = image.newTag() != null ? image.newTag() : tag;
        if (newTag != null) {
            out.append(':').append(newTag);
        }
        if (digest != null && image.newTag() == null) {
            out.append('@').append(digest);
        }
        return out.toString();
    }

    /** The image reference without tag or digest (a registry port's colon is kept). */
    static String imageName(String reference) {
        String s = reference.split("@", 2)[0];
        int slash = s.lastIndexOf('/');
        int colon = s.lastIndexOf(':');
        return colon > slash ? s.substring(0, colon) : s;
    }

    /** Every directory under {@code root} that holds a kustomization, sorted. */
    static Set<Path> kustomizationDirs(Path root) {
        try (var stream = Files.walk(root)) {
            Set<Path> dirs = new TreeSet<>();
            stream.filter(p -> p.getFileName().toString().equals(FILE)).forEach(p -> dirs.add(p.getParent().normalize()));
            return dirs;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** RFC 6902 add, remove, replace and test, with RFC 6901 pointers. */
    static final class JsonPatch {

        private JsonPatch() {
        }

        static void apply(ObjectNode document, ArrayNode ops, String where) {
            for (JsonNode op : ops) {
                String name = op.path("op").asText();
                String path = op.path("path").asText(null);
                if (path == null || path.isEmpty()) {
                    throw new AssertionError(where + ": an op without a path: " + op);
                }
                Set<String> allowed = Set.of("op", "path", "value");
                op.fieldNames().forEachRemaining(f -> {
                    if (!allowed.contains(f)) {
                        throw new AssertionError(where + ": unknown field '" + f + "' in " + op);
                    }
                });
                List<String> tokens = tokens(path);
                JsonNode parent = resolve(document, tokens.subList(0, tokens.size() - 1), where, path);
                String last = tokens.get(tokens.size() - 1);
                switch (name) {
                    case "test" -> {
                        JsonNode actual = child(parent, last);
                        if (actual == null || !actual.equals(op.get("value"))) {
                            throw new AssertionError(where + ": test failed at " + path + ": expected " + op.get("value")
                                    + ", found " + actual);
                        }
                    }
                    case "remove" -> {
                        require(child(parent, last), where, path);
                        if (parent instanceof ObjectNode o) {
                            o.remove(last);
                        } else {
                            ((ArrayNode) parent).remove(Integer.parseInt(last));
                        }
                    }
                    case "replace" -> {
                        require(child(parent, last), where, path);
                        set(parent, last, value(op, where), false);
                    }
                    case "add" -> set(parent, last, value(op, where), true);
                    default -> throw new AssertionError(where + ": op '" + name + "' is not used here");
                }
            }
        }

        private static JsonNode value(JsonNode op, String where) {
            if (!op.has("value")) {
                throw new AssertionError(where + ": op without value: " + op);
            }
            return op.get("value").deepCopy();
        }

        private static void set(JsonNode parent, String last, JsonNode value, boolean insert) {
            if (parent instanceof ObjectNode o) {
                o.set(last, value);
            } else {
                ArrayNode a = (ArrayNode) parent;
                if (last.equals("-")) {
                    a.add(value);
                } else if (insert) {
                    a.insert(Integer.parseInt(last), value);
                } else {
                    a.set(Integer.parseInt(last), value);
                }
            }
        }

        private static void require(JsonNode node, String where, String path) {
            if (node == null) {
                throw new AssertionError(where + ": nothing at " + path);
            }
        }

        private static JsonNode child(JsonNode parent, String token) {
            if (parent instanceof ObjectNode o) {
                return o.get(token);
            }
            if (parent instanceof ArrayNode a && token.matches("\\d+")) {
                return a.get(Integer.parseInt(token));
            }
            return null;
        }

        private static JsonNode resolve(JsonNode document, List<String> tokens, String where, String path) {
            JsonNode node = document;
            for (String token : tokens) {
                node = child(node, token);
                if (node == null || !(node.isObject() || node.isArray())) {
                    throw new AssertionError(where + ": path " + path + " does not exist");
                }
            }
            return node;
        }

        private static List<String> tokens(String pointer) {
            if (!pointer.startsWith("/")) {
                throw new IllegalArgumentException("not a JSON pointer: " + pointer);
            }
            List<String> out = new ArrayList<>();
            for (String t : pointer.substring(1).split("/", -1)) {
                out.add(t.replace("~1", "/").replace("~0", "~"));
            }
            return out;
        }
    }
}
