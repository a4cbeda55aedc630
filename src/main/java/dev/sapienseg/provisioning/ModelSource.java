package dev.sapienseg.provisioning;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;

/**
 * Where a model comes from: a local file, an {@code http(s)://} URL, an {@code s3://bucket/key} object, or a file in a
 * Hugging Face repository ({@code hf://owner/repo[@revision][/path/in/repo]}, default file {@code onnx/model.onnx}).
 * External-data files are named relative to the model, so every remote source can name its siblings.
 */
public sealed interface ModelSource {

    /** The file name of the model (the last path segment). */
    String fileName();

    /** The source of a file named relative to this one (an ONNX external-data location). */
    ModelSource sibling(String relativePath);

    /** The revision the location pins (a Hugging Face commit or tag; the branch {@code main} pins nothing). */
    default Optional<String> pinnedRevision() {
        return Optional.empty();
    }

    /** A stable text for logs, health data and the cache key. */
    String describe();

    record LocalFile(Path path) implements ModelSource {
        @Override
        public String fileName() {
            return path.getFileName().toString();
        }

        @Override
        public ModelSource sibling(String relativePath) {
            return new LocalFile(path.resolveSibling(relativePath));
        }

        @Override
        public String describe() {
            return path.toString();
        }
    }

    record Http(URI uri) implements ModelSource {
        @Override
        public String fileName() {
            return lastSegment(uri.getPath());
        }

        @Override
        public ModelSource sibling(String relativePath) {
            return new Http(uri.resolve(encodePath(relativePath)));
        }

        @Override
        public String describe() {
            // Never show credentials: user:password@ in the authority, or a pre-signed URL's signature in the query.
            String host = uri.getHost() + (uri.getPort() >= 0 ? ":" + uri.getPort() : "");
            return uri.getScheme() + "://" + (uri.getRawUserInfo() != null ? "…@" : "") + host + uri.getRawPath()
                    + (uri.getRawQuery() != null ? "?…" : "");
        }
    }

    record S3(String bucket, String key) implements ModelSource {
        @Override
        public String fileName() {
            return lastSegment(key);
        }

        @Override
        public ModelSource sibling(String relativePath) {
            return new S3(bucket, beside(key, relativePath));
        }

        @Override
        public String describe() {
            return "s3://" + bucket + "/" + key;
        }
    }

    record HuggingFace(String repo, String revision, String file) implements ModelSource {
        @Override
        public String fileName() {
            return lastSegment(file);
        }

        @Override
        public ModelSource sibling(String relativePath) {
            return new HuggingFace(repo, revision, beside(file, relativePath));
        }

        @Override
        public Optional<String> pinnedRevision() {
            return "main".equals(revision) ? Optional.empty() : Optional.of(revision);
        }

        /** The download URL on a Hub endpoint (https://huggingface.co, or a mirror set by HF_ENDPOINT). */
        public URI resolveUrl(String endpoint) {
            String base = endpoint.endsWith("/") ? endpoint.substring(0, endpoint.length() - 1) : endpoint;
            return URI.create(base + "/" + repo + "/resolve/" + URLEncoder.encode(revision, StandardCharsets.UTF_8)
                    + "/" + encodePath(file));
        }

        @Override
        public String describe() {
            return "hf://" + repo + ("main".equals(revision) ? "" : "@" + revision) + "/" + file;
        }
    }

    /** Parses a path or URI as given in configuration or on the command line. */
    static ModelSource parse(String text) {
        String value = text.strip();
        if (value.isEmpty()) {
            throw new IllegalArgumentException("empty model location");
        }
        String lower = value.toLowerCase(Locale.ROOT);
        if (lower.startsWith("http://") || lower.startsWith("https://")) {
            try {
                URI uri = new URI(value);
                if (uri.getHost() == null || uri.getPath() == null || uri.getPath().isEmpty()
                        || uri.getPath().endsWith("/")) {
                    throw new IllegalArgumentException("model URL must name a file: " + value);
                }
                return new Http(uri);
            } catch (URISyntaxException e) {
                throw new IllegalArgumentException("not a valid URL: " + value + " (" + e.getReason() + ")");
            }
        }
        if (lower.startsWith("s3://")) {
            String rest = value.substring("s3://".length());
            int slash = rest.indexOf('/');
            if (slash <= 0 || slash == rest.length() - 1) {
                throw new IllegalArgumentException("expected s3://bucket/key, got " + value);
            }
            return new S3(rest.substring(0, slash), rest.substring(slash + 1));
        }
        if (lower.startsWith("hf://")) {
            return parseHuggingFace(value.substring("hf://".length()), value);
        }
        if (lower.startsWith("file:")) {
            return new LocalFile(Path.of(URI.create(value)));
        }
        if (lower.matches("^[a-z][a-z0-9+.-]*://.*")) {
            throw new IllegalArgumentException("unsupported model URI scheme in " + value
                    + " (use a file path, https://, s3:// or hf://owner/repo/path)");
        }
        return new LocalFile(Path.of(value));
    }

    private static ModelSource parseHuggingFace(String rest, String original) {
        String[] parts = rest.split("/", 3);
        if (parts.length < 2 || parts[0].isEmpty() || parts[1].isEmpty()) {
            throw new IllegalArgumentException("expected hf://owner/repo[@revision][/path], got " + original);
        }
        String name = parts[1];
        String revision = "main";
        int at = name.indexOf('@');
        if (at >= 0) {
            revision = name.substring(at + 1);
            name = name.substring(0, at);
            if (revision.isEmpty() || name.isEmpty()) {
                throw new IllegalArgumentException("expected hf://owner/repo@revision/path, got " + original);
            }
        }
        String file = parts.length == 3 && !parts[2].isBlank() ? parts[2] : "onnx/model.onnx";
        return new HuggingFace(parts[0] + "/" + name, revision, normalise(file));
    }

    /** {@code relativePath} resolved against the folder of {@code path}. */
    private static String beside(String path, String relativePath) {
        int slash = path.lastIndexOf('/');
        return normalise((slash < 0 ? "" : path.substring(0, slash + 1)) + relativePath);
    }

    private static String lastSegment(String path) {
        int slash = path.lastIndexOf('/');
        return slash < 0 ? path : path.substring(slash + 1);
    }

    /** Resolves "." and refuses to leave the repository or bucket prefix with "..". */
    private static String normalise(String path) {
        java.util.Deque<String> out = new java.util.ArrayDeque<>();
        for (String part : path.split("/")) {
            if (part.isEmpty() || part.equals(".")) {
                continue;
            }
            if (part.equals("..")) {
                if (out.isEmpty()) {
                    throw new IllegalArgumentException("path leaves its root: " + path);
                }
                out.removeLast();
            } else {
                out.addLast(part);
            }
        }
        return String.join("/", out);
    }

    private static String encodePath(String path) {
        StringBuilder b = new StringBuilder();
        for (String part : path.split("/", -1)) {
            if (b.length() > 0) {
                b.append('/');
            }
            b.append(URLEncoder.encode(part, StandardCharsets.UTF_8).replace("+", "%20"));
        }
        return b.toString();
    }
}
