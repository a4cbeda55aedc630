package dev.sapienseg.storage;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import dev.sapienseg.image.ImageFormat;
import dev.sapienseg.output.OutputKind;
import dev.sapienseg.output.OutputLayout;

import dev.sapienseg.logging.LogSafe;
import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.failure.SegmentationException;

/**
 * Output object keys, derived from the source so that a redelivered event overwrites instead of duplicating, and so
 * that two different sources never share an output. The one naming rule (the names after the prefix are
 * {@link OutputLayout#OBJECT_STORE}'s):
 *
 * <pre>
 * name    = [sourceBucket "/"] sourceKey [".src"]     bucket only when sapiens.storage.output-bucket is set;
 *                                                     ".src" only when the key does not end in a picture extension
 * outputs = prefix name ".npy" | "_seg.npy" | "_seg.png" | "_overlay.jpg" | "_overlay.png" | "_selection.png"
 *                      | "_cutout.png" | "_alpha.png" | "_rle.json" | "_polygons.json" | "_instances.png"
 *                      | "_logits.npy" | ".json"
 * </pre>
 *
 * e.g. {@code photos/2024/a.jpg} → {@code <prefix>photos/2024/a.jpg.npy}, {@code …/a.jpg_seg.npy},
 * {@code …/a.jpg_seg.png}, {@code …/a.jpg_overlay.jpg}, {@code …/a.jpg.json}.
 *
 * <p><b>Why no two sources share an output key.</b> (1) {@code (bucket, key) → name} is injective: bucket names
 * contain no {@code /}, so {@code bucket "/" key} splits back at its first {@code /}; without an output bucket the
 * outputs go to the source's own bucket, so sources of different buckets cannot meet. The marker is injective too: a
 * name ending in a picture extension is the key itself, any other key gets {@code .src}, which is no picture
 * extension, so the two kinds of name never coincide and each kind is one-to-one. (2) Every name ends in a picture
 * extension or {@code .src} ({@code E}: a dot and letters). (3) {@code name + suffix} is one-to-one over pairs: if
 * {@code n1 + s1 = n2 + s2} with {@code s1} longer, {@code s2} is a proper suffix of {@code s1}; the only such pairs
 * in the suffix set are {@code ".npy"} in {@code "_seg.npy"} and {@code "_logits.npy"}, and {@code ".json"} in
 * {@code "_rle.json"} and {@code "_polygons.json"}: each longer one is the shorter preceded by {@code "_" word}, so
 * {@code n2} would be {@code n1 + "_" word} and end in {@code _seg}, {@code _logits}, {@code _rle} or
 * {@code _polygons}, and no {@code E} is or ends in one of those: impossible.
 * Equal-length suffixes are equal, and then the names are. So the output sets of two sources are disjoint, and
 * within one source the keys differ. {@code OutputKeysTest} checks this over many crafted names.
 *
 * <p>Source keys are refused if they could escape the prefix or confuse a file system that mirrors the bucket:
 * {@code .} or {@code ..} segments, a leading {@code /}, empty segments, backslashes or control characters; and when
 * the longest output key would pass S3's 1024-byte limit.
 */
public record OutputKeys(String base) {

    /** S3's limit on a key, in UTF-8 bytes. */
    public static final int MAX_KEY_BYTES = 1024;

    /** Appended to a key without a picture extension. */
    static final String MARKER = ".src";

    /**
     * @param sourceBucket the source's bucket, or {@code null} when outputs go to the source's own bucket
     */
    public static OutputKeys derive(String prefix, String sourceBucket, String sourceKey) {
        String key = checked(sourceKey);
        String name = (sourceBucket == null ? "" : sourceBucket + "/") + key + (hasPictureExtension(key) ? "" : MARKER);
        OutputKeys keys = new OutputKeys(prefix + name);
        for (String output : keys.all()) {
            if (output.getBytes(StandardCharsets.UTF_8).length > MAX_KEY_BYTES) {
                throw unsafe(sourceKey, "its output keys would exceed " + MAX_KEY_BYTES + " bytes");
            }
        }
        return keys;
    }

    /**
     * The key of one output ({@link OutputLayout#OBJECT_STORE}).
     *
     * @param pictureFormat the picture's decoded format: it decides the overlay's format
     */
    public String key(OutputKind kind, ImageFormat pictureFormat) {
        return OutputLayout.OBJECT_STORE.fileName(kind, base, pictureFormat.extension());
    }

    public String summary() {
        return key(OutputKind.SUMMARY, ImageFormat.PNG);
    }

    /** Every key this output set may have: each kind, the overlay in both of its formats. */
    public List<String> all() {
        Set<String> keys = new LinkedHashSet<>();
        for (ImageFormat format : List.of(ImageFormat.JPEG, ImageFormat.PNG)) {
            keys.addAll(OutputLayout.OBJECT_STORE.fileNames(base, format.extension()));
        }
        return List.copyOf(keys);
    }

    public static boolean hasPictureExtension(String key) {
        int slash = key.lastIndexOf('/');
        int dot = key.lastIndexOf('.');
        return dot > slash && ImageFormat.byExtension(key.substring(dot)).isPresent();
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
            if (c < 0x20 || c == 0x7F || c == '\\' || (c >= 0x80 && c < 0xA0)) {
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
        return new SegmentationException(FailureReason.UNSAFE_KEY, "refusing object key '" + LogSafe.of(key, 200)
                + "': " + why);
    }
}
