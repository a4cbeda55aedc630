package dev.sapienseg.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;

import javax.imageio.ImageIO;

import org.bytedeco.opencv.opencv_core.Mat;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.sapienseg.fixtures.CocoMasks;
import dev.sapienseg.fixtures.FixtureModels;
import dev.sapienseg.fixtures.ModelFiles;
import dev.sapienseg.fixtures.OnnxGraphBuilder.Dim;
import dev.sapienseg.fixtures.Pipelines;
import dev.sapienseg.fixtures.TestImages;
import dev.sapienseg.fixtures.TestImages.Region;
import dev.sapienseg.model.ModelSettings;
import dev.sapienseg.model.SegmentationModel;
import dev.sapienseg.output.OutputKind;
import dev.sapienseg.report.SegmentationReport;
import dev.sapienseg.shapes.Person;

/** The shape outputs through the whole pipeline: exact against the class map, the same in the files and the report. */
class ShapeOutputsTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final EnumSet<OutputKind> SHAPES = EnumSet.of(OutputKind.RLE, OutputKind.POLYGONS,
            OutputKind.INSTANCES);
    /** Two people apart, the left one in three parts (hair, torso, a hand that touches the torso), a speck near it. */
    private static final Region[] TWO_PEOPLE = {
        new Region(20, 20, 100, 60, 3), new Region(20, 80, 100, 200, 21), new Region(120, 150, 30, 40, 14),
        new Region(300, 40, 120, 300, 5), new Region(160, 100, 4, 4, 11)};

    static SegmentationModel palette;

    @BeforeAll
    static void load() throws Exception {
        palette = SegmentationModel.load(ModelSettings.cpu(FixtureModels.PALETTE_DEMO));
    }

    @AfterAll
    static void close() {
        palette.close();
    }

    @Test
    void rlePolygonsAndPersonsAreExactAndTheFilesSayWhatTheReportSays() throws Exception {
        Segmentation s = segment(palette, TWO_PEOPLE, 480, 400);
        JsonNode rleFile = JSON.readTree(s.output(OutputKind.RLE).data());
        JsonNode polygonFile = JSON.readTree(s.output(OutputKind.POLYGONS).data());
        assertEquals(480, rleFile.get("width").asInt());
        assertEquals(0.0, polygonFile.get("tolerance").asDouble());
        CocoMasks.assertExact(rleFile.get("classes"), s.classMap(), 480, 400);
        CocoMasks.assertExact(polygonFile.get("classes"), s.classMap(), 480, 400);
        JsonNode reply = JSON.valueToTree(SegmentationReport.of("r", s, palette,
                dev.sapienseg.model.Normalization.LITE));
        CocoMasks.assertExact(reply.get("classes"), s.classMap(), 480, 400);
        assertEquals(rleFile.get("classes").get(1).get("rle"), reply.get("classes").get(1).get("rle"));

        List<Person> persons = s.shapes().people();
        assertEquals(2, persons.size(), "the speck joined the nearest person");
        Raster instances = ImageIO.read(new ByteArrayInputStream(s.output(OutputKind.INSTANCES).data())).getRaster();
        byte[] ids = new byte[480 * 400];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = (byte) instances.getSample(i % 480, i / 480, 0);
            assertEquals(s.classMap()[i] != 0, ids[i] != 0, "every foreground pixel has its person, pixel " + i);
        }
        assertEquals(11, s.classMap()[102 * 480 + 162]);
        assertEquals(2, ids[102 * 480 + 162], "the speck is the left person's, the smaller (id 2)");
        for (Person person : persons) {
            assertArrayEquals(CocoMasks.decode(JSON.valueToTree(person.rle())), mask(ids, person.id()));
            long[] classes = new long[28];
            for (int i = 0; i < ids.length; i++) {
                classes[s.classMap()[i]] += ids[i] == person.id() ? 1 : 0;
            }
            List<Person.ClassPixels> expected = new java.util.ArrayList<>();
            for (int c = 0; c < 28; c++) {
                if (classes[c] > 0) {
                    expected.add(new Person.ClassPixels(c, classes[c]));
                }
            }
            assertEquals(expected, person.classes());
        }
        assertTrue(persons.get(0).pixels() > persons.get(1).pixels());
        assertTrue(persons.get(1).classes().stream().map(Person.ClassPixels::id).toList()
                .containsAll(List.of(3, 11, 14, 21)));
        JsonNode summary = JSON.valueToTree(SegmentationReport.summary("r", s, palette,
                dev.sapienseg.model.Normalization.LITE));
        assertTrue(!summary.get("classes").get(0).has("rle") && !summary.get("persons").get(0).has("rle"),
                "a summary holds no shapes: they are files");
    }

    @Test
    void theForegroundModelHasShapesToo(@TempDir Path dir) throws Exception {
        Path binary = ModelFiles.write(dir, "binary.onnx",
                FixtureModels.palette(Dim.dynamic("b"), 1, true, true, "fg"));
        try (SegmentationModel model = SegmentationModel.load(ModelSettings.cpu(binary))) {
            Segmentation s = segment(model,
                    new Region[] {new Region(10, 10, 50, 50, 14), new Region(100, 10, 60, 50, 14)}, 200, 100);
            CocoMasks.assertExact(JSON.readTree(s.output(OutputKind.RLE).data()).get("classes"), s.classMap(),
                    200, 100);
            CocoMasks.assertExact(JSON.readTree(s.output(OutputKind.POLYGONS).data()).get("classes"), s.classMap(), 200,
                    100);
            assertEquals(2, s.shapes().people().size());
            assertEquals(List.of(new Person.ClassPixels(1, s.shapes().people().get(0).pixels())),
                    s.shapes().people().get(0).classes());
            // The alpha of the default selection (person: the foreground) is the foreground's probability.
            Segmentation soft = Pipelines.segment(SegmentationPipelineTest.pipeline(model), picture(new Region[] {
                new Region(10, 10, 50, 50, 14)}, 200, 100), EnumSet.of(OutputKind.ALPHA));
            Raster alpha = ImageIO.read(new ByteArrayInputStream(soft.output(OutputKind.ALPHA).data())).getRaster();
            assertTrue(alpha.getSample(30, 30, 0) > 128 && alpha.getSample(150, 80, 0) < 128);
        }
    }

    private static Segmentation segment(SegmentationModel model, Region[] regions, int w, int h) throws Exception {
        return Pipelines.segment(SegmentationPipelineTest.pipeline(model), picture(regions, w, h), SHAPES);
    }

    private static byte[] picture(Region[] regions, int w, int h) {
        try (Mat painted = TestImages.paint(w, h, regions)) {
            return TestImages.png(painted);
        }
    }

    private static boolean[] mask(byte[] ids, int id) {
        boolean[] mask = new boolean[ids.length];
        for (int i = 0; i < ids.length; i++) {
            mask[i] = ids[i] == id;
        }
        return mask;
    }
}
