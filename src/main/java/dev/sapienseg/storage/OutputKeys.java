package dev.sapienseg.storage;

import dev.sapienseg.pipeline.FailureReason;
import dev.sapienseg.pipeline.SegmentationException;

/**
 * Output object keys, derived from the source key so that a redelivered event overwrites instead of duplicating:
 * {@code photos/2024/a.jpg} → {@code <prefix>photos/2024/a.npy}, {@code …/a_seg.npy}, {@code …/a_seg.png},
 * {@code …/a_overlay.jpg}, {@code …/a.json}. Source keys are refused if they could escape the prefix or confuse a
 * file system that mirrors the bucket: {@code .} or {@code ..} segments, a leading {@code /}, empty segments,
 * backslashes or control characters.
 */
public record OutputKeys(String foregroundNpy, String classNpy, String classPng, String overlayStem, String summary) {

    private static final int MAX_KEY_BYTES = 1024;

    public static OutputKeys derive(String prefix, String sourceKey) {
        String key = checked(sourceKey);
        int slash = key.lastIndexOf('/');
        int dot = key.lastIndexOf('.');
        String stem = dot > slash + 1 ? key.substring(0, dot) : key;
        String base = prefix + stem;
        OutputKeys keys = new OutputKeys(base + ".npy", base + "_seg.npy", base + "_seg.png", base + "_overlay",
                base + ".json");
        if ((base + "_overlay.jpeg").getBytes(java.nio.charset.StandardCharsets.UTF_8).length > MAX_KEY_BYTES) {
            throw unsafe(sourceKey, "output keys would exceed " + MAX_KEY_BYTES + " bytes");
        }
        return keys;
    }

    static String checked(String key) {
        if (key == null || key.isEmpty()) {
            throw unsafe(key, "empty key");
        }
        if (key.startsWith("/")) {
            throw unsafe(key, "absolute key");
        }
        for (int i = 0; i < key.length(); i++) {
            char c = key.charAt(i);
            if (c < 0x20 || c == 0x7F || c == '\\') {
                throw unsafe(key, "control character or backslash at " + i);
            }
        }
        for (String segment : key.split("/", -1)) {
            if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
                throw unsafe(key, "empty, '.' or '..' path segment");
            }
        }
        return key;
    }

    private static SegmentationException unsafe(String key, String why) {
        String shown = key == null ? "null" : key.replaceAll("\\p{Cntrl}", "?");
        return new SegmentationException(FailureReason.UNSAFE_KEY, "refusing object key '" + shown + "': " + why);
    }
}
