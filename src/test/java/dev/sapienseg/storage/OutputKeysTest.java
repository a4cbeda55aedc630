package dev.sapienseg.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.image.ImageFormat;
import dev.sapienseg.output.OutputKind;
import dev.sapienseg.failure.SegmentationException;

/** The output naming rule: injective over crafted names, and metadata that fits S3's limit for every legal key. */
class OutputKeysTest {

    @Test
    void outputsAreNamedAfterTheWholeFileName() {
        OutputKeys keys = OutputKeys.derive("out/", null, "a.b/c/photo.final.JPG");
        assertEquals("out/a.b/c/photo.final.JPG.npy", keys.key(OutputKind.MASK_NPY, ImageFormat.JPEG));
        assertEquals("out/a.b/c/photo.final.JPG_seg.npy", keys.key(OutputKind.CLASS_NPY, ImageFormat.JPEG));
        assertEquals("out/a.b/c/photo.final.JPG_seg.png", keys.key(OutputKind.CLASS_PNG, ImageFormat.JPEG));
        assertEquals("out/a.b/c/photo.final.JPG_overlay.jpg", keys.key(OutputKind.OVERLAY, ImageFormat.JPEG));
        // The overlay follows the decoded format, not the key: a PNG behind a .JPG key gets a PNG overlay.
        assertEquals("out/a.b/c/photo.final.JPG_overlay.png", keys.key(OutputKind.OVERLAY, ImageFormat.PNG));
        assertEquals("out/a.b/c/photo.final.JPG_overlay.png", keys.key(OutputKind.OVERLAY, ImageFormat.WEBP));
        assertEquals("out/a.b/c/photo.final.JPG_selection.png", keys.key(OutputKind.SELECTION_MASK, ImageFormat.JPEG));
        assertEquals("out/a.b/c/photo.final.JPG_cutout.png", keys.key(OutputKind.CUTOUT, ImageFormat.JPEG));
        assertEquals("out/a.b/c/photo.final.JPG_rle.json", keys.key(OutputKind.RLE, ImageFormat.JPEG));
        assertEquals("out/a.b/c/photo.final.JPG_polygons.json", keys.key(OutputKind.POLYGONS, ImageFormat.JPEG));
        assertEquals("out/a.b/c/photo.final.JPG_instances.png", keys.key(OutputKind.INSTANCES, ImageFormat.JPEG));
        assertEquals("out/a.b/c/photo.final.JPG.json", keys.summary());
        assertEquals("out/a.b/c/photo.final.JPG_alpha.png", keys.key(OutputKind.ALPHA, ImageFormat.JPEG));
        assertEquals("out/a.b/c/photo.final.JPG_logits.npy", keys.key(OutputKind.LOGITS_NPY, ImageFormat.JPEG));
        assertEquals(13, keys.all().size());
        assertEquals("out/dir.v2/noext.src.json", OutputKeys.derive("out/", null, "dir.v2/noext").summary());
        assertEquals("out/.hidden.src.json", OutputKeys.derive("out/", null, ".hidden").summary());
        assertEquals("out/photos/a.jpg.json", OutputKeys.derive("out/", "photos", "a.jpg").summary());
        for (String bad : new String[] {"", "/a.jpg", "a/../b.jpg", "./a.jpg", "a//b.jpg", "a\\b.jpg", "a\nb.jpg", "x/",
                "a\u0085b.jpg"}) {
            assertEquals(FailureReason.UNSAFE_KEY,
                    assertThrows(SegmentationException.class, () -> OutputKeys.derive("out/", null, bad)).reason(),
                    bad);
        }
        assertThrows(SegmentationException.class, () -> OutputKeys.derive("out/", null, "k".repeat(1020) + ".jpg"));
    }

    @Test
    void noTwoSourcesShareAnOutputKey() {
        // Crafted to hit every way names could meet: extensions, _seg, output suffixes as source names, the marker.
        List<String> stems = List.of("x", "x_seg", "x_seg_seg", "a", "a.jpg", "a.jpg_seg", "x.npy", "x_overlay",
                "x.src", "x.json", "x.jpg.npy", "d/x", "d", "x_seg.npy", "x_overlay.jpg", "X");
        List<String> endings = List.of("", ".jpg", ".JPG", ".png", ".jpeg", ".npy", ".json", ".src", ".src.src",
                "_seg.npy", "_seg.png", "_overlay.jpg", "_overlay.png", ".tif", ".jpg.src", ".");
        java.util.Set<String> distinct = new java.util.LinkedHashSet<>();
        for (String stem : stems) {
            for (String ending : endings) {
                distinct.add("dir/" + stem + ending);
            }
        }
        List<String> sourceKeys = new ArrayList<>(distinct);
        for (String prefixed : new String[] {null, "photos", "photos.v2", "photo"}) {
            Map<String, String> owner = new HashMap<>();
            int keys = 0;
            for (String bucket : new String[] {"photos", "photos.v2", "photo", "d"}) {
                for (String key : sourceKeys) {
                    String sourceBucket = prefixed == null ? null : bucket;
                    if (prefixed == null && !bucket.equals("photos")) {
                        continue; // without an output bucket, each source bucket has its own outputs
                    }
                    OutputKeys out;
                    try {
                        out = OutputKeys.derive("sapiens-seg/", sourceBucket, key);
                    } catch (SegmentationException e) {
                        continue;
                    }
                    for (String k : out.all()) {
                        keys++;
                        String previous = owner.put(k, bucket + "/" + key);
                        assertTrue(previous == null,
                                k + " is an output of both " + previous + " and " + bucket + "/" + key);
                    }
                }
            }
            assertTrue(keys > 5 * sourceKeys.size(), "the test named enough keys");
        }
    }

    @Test
    void metadataFitsS3sTwoKilobytesForTheLongestKeys() {
        // 1024 bytes of three- and four-byte UTF-8, an ETag and version id longer than any store's, a long model name.
        String key = "\u4e2d".repeat(300) + "\ud83d\ude00".repeat(31);
        assertTrue(key.getBytes(StandardCharsets.UTF_8).length <= 1024
                && key.getBytes(StandardCharsets.UTF_8).length > 1000);
        StoredResult.SourceObject source = new StoredResult.SourceObject("b".repeat(63), key, "e".repeat(600),
                "v".repeat(1024), 10L);
        ResultIdentity identity = ResultIdentity.of(source, "m\u00e9".repeat(500),
                new dev.sapienseg.output.OutputPlan(java.util.EnumSet.of(OutputKind.MASK_NPY, OutputKind.CLASS_NPY,
                        OutputKind.CLASS_PNG, OutputKind.OVERLAY), null));
        assertEquals("mask-npy,class-npy,class-png,overlay", identity.outputs(),
                "the identity of results stored before");
        dev.sapienseg.output.OutputPlan soft = new dev.sapienseg.output.OutputPlan(
                java.util.EnumSet.of(OutputKind.CUTOUT, OutputKind.POLYGONS),
                dev.sapienseg.classes.Selection.parse("hair", false, dev.sapienseg.classes.Vocabulary.GOLIATH_28),
                dev.sapienseg.shapes.ShapeOptions.DEFAULTS, dev.sapienseg.output.Edges.SOFT);
        assertEquals("cutout,polygons;select=hair;edges=soft;tolerance=0.0",
                ResultIdentity.of(source, "m", soft).outputs(),
                "what the outputs were made with is part of their identity");
        Map<String, String> meta = identity.metadata(java.util.UUID.randomUUID().toString());
        int bytes = 0;
        for (Map.Entry<String, String> e : meta.entrySet()) {
            bytes += ("x-amz-meta-" + e.getKey()).getBytes(StandardCharsets.UTF_8).length
                    + e.getValue().getBytes(StandardCharsets.UTF_8).length;
            assertTrue(e.getValue().chars().allMatch(c -> c >= 0x20 && c < 0x7F), "ASCII header value: " + e);
        }
        assertTrue(bytes <= 2048, bytes + " bytes: " + meta);
        assertEquals(64, meta.get(ResultIdentity.META_SOURCE_DIGEST).length());
        // Different long values stay distinguishable after bounding.
        assertTrue(!ResultIdentity.bounded("m".repeat(500) + "a")
                .equals(ResultIdentity.bounded("m".repeat(500) + "b")));
    }
}
