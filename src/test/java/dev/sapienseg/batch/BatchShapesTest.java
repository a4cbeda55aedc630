package dev.sapienseg.batch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.bytedeco.opencv.opencv_core.Mat;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.sapienseg.fixtures.CocoMasks;
import dev.sapienseg.fixtures.FixtureModels;
import dev.sapienseg.fixtures.SampleImages;
import dev.sapienseg.fixtures.TestImages;
import dev.sapienseg.fixtures.TestImages.Region;

/**
 * The shape files of a folder run and its {@code coco.json}, read back by a decoder written from pycocotools' C
 * source ({@link CocoMasks}) against the class PNG of the same run; a rerun rewrites the dataset without segmenting.
 * Soft edges and the raw logits as files.
 */
class BatchShapesTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @BeforeAll
    static void load() throws Exception {
        SegmentCommandTest.loadTheFunctionsPipeline();
    }

    @AfterAll
    static void close() {
        SegmentCommandTest.close();
    }

    @Test
    void aFolderRunIsADatasetPycocotoolsCanLoad() throws Exception {
        Path in = dir.resolve("in");
        Files.createDirectories(in.resolve("sub"));
        Files.copy(SampleImages.FIGURE_JPG, in.resolve("a.jpg"));
        try (Mat two = TestImages.paint(300, 200, new Region(10, 10, 80, 150, 21), new Region(200, 20, 60, 150, 5))) {
            Files.write(in.resolve("sub/b.png"), TestImages.png(two));
        }
        Files.write(in.resolve("broken.jpg"), new byte[] {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, 0});
        Path out = dir.resolve("out");
        String[] args = {"--model", FixtureModels.PALETTE_DEMO.toString(), "--input", in.toString(), "--output",
                out.toString(), "--outputs", "class-png,polygons,instances,coco", "--progress", "log"};
        SegmentCommandTest.Run run = SegmentCommandTest.segment(args);
        assertEquals(SegmentCommand.FAILURES, run.status(), run.out() + run.err());
        assertTrue(run.out().contains("coco: 2 picture(s)"), run.out());

        JsonNode coco = JSON.readTree(out.resolve("coco.json").toFile());
        assertEquals(27, coco.get("categories").size(), "Goliath's classes but the background");
        assertEquals("Apparel", coco.get("categories").get(0).get("name").asText());
        assertEquals(1, coco.get("categories").get(0).get("id").asInt());
        assertEquals(3, coco.get("categories").get(0).get("color").size());
        assertEquals(List.of("a.jpg", "sub/b.png"), coco.get("images").findValuesAsText("file_name"));
        for (JsonNode image : coco.get("images")) {
            String stem = image.get("file_name").asText().replaceFirst("\\.[a-z]+$", "");
            byte[] classes = TestImages.values(Files.readAllBytes(out.resolve(stem + "_seg.png")));
            assertEquals(classes.length, image.get("width").asInt() * image.get("height").asInt());
            long foreground = 0;
            for (byte c : classes) {
                foreground += c != 0 ? 1 : 0;
            }
            long annotated = 0;
            for (JsonNode a : coco.get("annotations")) {
                if (a.get("image_id").asInt() != image.get("id").asInt()) {
                    continue;
                }
                assertEquals(1, a.get("iscrowd").asInt());
                boolean[] mask = CocoMasks.decode(a.get("segmentation"));
                int category = a.get("category_id").asInt();
                int minX = Integer.MAX_VALUE;
                long area = 0;
                for (int i = 0; i < classes.length; i++) {
                    assertEquals(classes[i] == category, mask[i], stem + " category " + category + " pixel " + i);
                    if (mask[i]) {
                        area++;
                        minX = Math.min(minX, i % image.get("width").asInt());
                    }
                }
                assertEquals(area, a.get("area").asLong());
                assertEquals(minX, a.get("bbox").get(0).asInt());
                annotated += area;
            }
            assertEquals(foreground, annotated, stem + ": every foreground pixel is in one annotation");
            CocoMasks.assertExact(JSON.readTree(out.resolve(stem + "_polygons.json").toFile()).get("classes"), classes,
                    image.get("width").asInt(), image.get("height").asInt());
            assertTrue(Files.exists(out.resolve(stem + "_instances.png"))
                    && Files.exists(out.resolve(stem + "_rle.json")));
        }
        long[] ids = coco.get("annotations").findValues("id").stream().mapToLong(JsonNode::asLong).toArray();
        assertEquals(ids.length, java.util.Arrays.stream(ids).distinct().count());

        // A rerun segments nothing and writes the same dataset from the stored RLE files.
        byte[] first = Files.readAllBytes(out.resolve("coco.json"));
        Files.delete(out.resolve("coco.json"));
        SegmentCommandTest.Run again = SegmentCommandTest.segment(args);
        assertTrue(again.out().startsWith("segmented 0, skipped 2"), again.out());
        assertArrayEquals(first, Files.readAllBytes(out.resolve("coco.json")));
    }

    @Test
    void softEdgesAndLogitsAreFilesAndOtherEdgesRedoThePicture() throws Exception {
        Path in = dir.resolve("in");
        Files.createDirectories(in);
        Files.copy(SampleImages.FIGURE_JPG, in.resolve("a.jpg"));
        Path out = dir.resolve("out");
        String[] soft = {"--model", FixtureModels.PALETTE_DEMO.toString(), "--input", in.toString(), "--output",
                out.toString(), "--outputs", "cutout,alpha,logits-npy", "--select", "hair", "--edges", "soft"};
        assertEquals(0, SegmentCommandTest.segment(soft).status());
        byte[] alpha = TestImages.values(Files.readAllBytes(out.resolve("a_alpha.png")));
        java.awt.image.Raster cutout = javax.imageio.ImageIO.read(out.resolve("a_cutout.png").toFile()).getRaster();
        for (int i = 0; i < alpha.length; i++) {
            assertEquals(alpha[i] & 0xFF, cutout.getSample(i % 480, i / 480, 3), "pixel " + i);
        }
        dev.sapienseg.fixtures.Npy.Floats logits = dev.sapienseg.fixtures.Npy.readFloats(
                Files.readAllBytes(out.resolve("a_logits.npy")));
        assertArrayEquals(new int[] {28, 512, 384}, logits.shape());
        assertEquals("soft", JSON.readTree(out.resolve("a.json").toFile()).get("selection").get("edges").asText());
        assertTrue(SegmentCommandTest.segment(soft).out().startsWith("segmented 0, skipped 1"));
        String[] hard = soft.clone();
        hard[hard.length - 1] = "hard";
        assertTrue(SegmentCommandTest.segment(hard).out().startsWith("segmented 1, skipped 0"),
                "a cutout with other edges is not this run's");
        String[] alphaOnly = {"--model", FixtureModels.PALETTE_DEMO.toString(), "--input", in.toString(), "--output",
                out.toString(), "--outputs", "alpha", "--select", "hair", "--edges", "soft"};
        assertTrue(SegmentCommandTest.segment(alphaOnly).out().startsWith("segmented 0, skipped 1"),
                "edges are the cutout's: without one they change nothing");
        String[] polygons = {"--model", FixtureModels.PALETTE_DEMO.toString(), "--input", in.toString(), "--output",
                out.toString(), "--outputs", "polygons"};
        assertTrue(SegmentCommandTest.segment(polygons).out().startsWith("segmented 1, skipped 0"));
        assertTrue(SegmentCommandTest.segment(polygons).out().startsWith("segmented 0, skipped 1"));
        System.setProperty("sapiens.shapes.polygon-tolerance", "1.5");
        try {
            assertTrue(SegmentCommandTest.segment(polygons).out().startsWith("segmented 1, skipped 0"),
                    "polygons of another tolerance are not this run's");
        } finally {
            System.clearProperty("sapiens.shapes.polygon-tolerance");
        }
        String[] wrong = soft.clone();
        wrong[wrong.length - 1] = "fuzzy";
        SegmentCommandTest.Run refused = SegmentCommandTest.segment(wrong);
        assertEquals(SegmentCommand.CANNOT_RUN, refused.status());
        assertTrue(refused.err().contains("sapiens.selection.edges"), refused.err());
    }
}
