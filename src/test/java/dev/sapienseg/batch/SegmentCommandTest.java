package dev.sapienseg.batch;

import dev.sapienseg.fixtures.Pipelines;
import java.util.EnumSet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import javax.imageio.ImageIO;

import org.bytedeco.opencv.opencv_core.Mat;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import dev.sapienseg.fixtures.FixtureModels;
import dev.sapienseg.fixtures.ModelServer;
import dev.sapienseg.storage.S3ProxyResource;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import dev.sapienseg.fixtures.ModelFiles;
import dev.sapienseg.fixtures.Npy;
import dev.sapienseg.fixtures.OnnxGraphBuilder.Dim;
import dev.sapienseg.fixtures.SampleImages;
import dev.sapienseg.fixtures.TestImages;
import dev.sapienseg.fixtures.TestImages.Region;
import dev.sapienseg.image.ImageDecoder;
import dev.sapienseg.image.ImageFormat;
import dev.sapienseg.image.ImageLimits;
import dev.sapienseg.model.ModelSettings;
import dev.sapienseg.model.SegmentationModel;
import dev.sapienseg.model.Normalization;
import dev.sapienseg.output.OutputKind;
import dev.sapienseg.pipeline.SegmentationPipeline;

/** The batch command in process, on a folder with what real folders contain: mixed formats and sizes, junk, clashes. */
class SegmentCommandTest {

    static SegmentationModel model;
    static SegmentationPipeline function;

    @TempDir
    Path dir;

    record Run(int status, String out, String err) {
    }

    @BeforeAll
    static void loadTheFunctionsPipeline() throws Exception {
        model = SegmentationModel.load(ModelSettings.cpu(FixtureModels.PALETTE_DEMO));
        function = Pipelines.of(new ImageDecoder(new ImageLimits(Long.MAX_VALUE, 100_000_000)), model,
                Normalization.LITE, 1, Duration.ofMinutes(1));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    static Run segment(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = SegmentCommand.execute(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), args);
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** A folder like people have: formats, sizes, upper case, .jpeg, a sub-folder, a corrupt file, a text file, a clash. */
    private Path mixedFolder() throws Exception {
        Path in = dir.resolve("photos");
        Files.createDirectories(in.resolve("trip/day1"));
        try (Mat figure = SampleImages.figure();
                Mat wide = TestImages.paint(333, 217, new Region(0, 0, 150, 217, 14), new Region(150, 50, 100, 100, 2));
                Mat tall = TestImages.paint(121, 402, new Region(10, 10, 100, 300, 21))) {
            Files.write(in.resolve("a.jpg"), TestImages.jpeg(figure));
            Files.write(in.resolve("B.PNG"), TestImages.png(wide));
            Files.write(in.resolve("c.jpeg"), TestImages.jpeg(tall));
            Files.write(in.resolve("trip/d.webp"), TestImages.encode(wide, ImageFormat.WEBP));
            Files.write(in.resolve("trip/day1/e.TIFF"), TestImages.encode(tall, ImageFormat.TIFF));
            Files.write(in.resolve("trip/day1/f.bmp"), TestImages.encode(figure, ImageFormat.BMP));
            Files.write(in.resolve("x.jpg"), TestImages.jpeg(wide));
            Files.write(in.resolve("x.png"), TestImages.png(tall));
            byte[] jpeg = TestImages.jpeg(figure);
            Files.write(in.resolve("broken.jpg"), java.util.Arrays.copyOf(jpeg, jpeg.length / 2));
        }
        Files.writeString(in.resolve("notes.txt"), "not a picture");
        return in;
    }

    private static final Map<String, String> EXPECTED = Map.of(
            "a.jpg", "a", "B.PNG", "B", "c.jpeg", "c", "trip/d.webp", "trip/d", "trip/day1/e.TIFF", "trip/day1/e",
            "trip/day1/f.bmp", "trip/day1/f", "x.jpg", "x_jpg", "x.png", "x_png");

    @Test
    void writesSapiensOutputsThatAgreeWithTheFunction() throws Exception {
        Path in = mixedFolder();
        Path out = dir.resolve("out");
        Run run = segment("--model", FixtureModels.PALETTE_DEMO.toString(), "--input", in.toString(), "--output",
                out.toString(), "--batch-size", "3", "--threads", "2", "--progress", "log");
        assertEquals(SegmentCommand.FAILURES, run.status(), run.err());
        assertTrue(run.out().startsWith("segmented 8, skipped 0 (outputs complete), failed 1"), run.out());
        assertTrue(run.out().contains("failed: broken.jpg: corrupt-image"), run.out());
        assertTrue(run.err().contains("progress: 9/9"), run.err());

        ObjectMapper json = new ObjectMapper();
        for (Map.Entry<String, String> e : EXPECTED.entrySet()) {
            Path source = in.resolve(e.getKey());
            String stem = e.getValue();
            byte[] expected = Pipelines.segment(function, Files.readAllBytes(source), EnumSet.of(OutputKind.CLASS_PNG)).classMap();
            int height;
            int width;
            try (var decoded = function.decoder().decode(Files.readAllBytes(source))) {
                height = decoded.height();
                width = decoded.width();
            }
            Npy classes = Npy.read(out.resolve(stem + "_seg.npy"));
            Npy mask = Npy.read(out.resolve(stem + ".npy"));
            assertEquals("<i8", classes.descr());
            assertEquals("|b1", mask.descr());
            assertEquals(List.of(height, width), List.of(classes.height(), classes.width()), stem);
            assertEquals(List.of(height, width), List.of(mask.height(), mask.width()), stem);
            for (int i = 0; i < expected.length; i++) {
                assertEquals(expected[i], classes.values()[i], stem + " pixel " + i + " differs from the function's");
                assertEquals(expected[i] > 0 ? 1 : 0, mask.values()[i], stem + " mask pixel " + i);
            }
            BufferedImage png = ImageIO.read(out.resolve(stem + "_seg.png").toFile());
            assertEquals(expected[width * (height / 2) + width / 2], png.getRaster().getSample(width / 2, height / 2, 0));

            // Named like the input where its format is its own overlay format (JPEG, PNG), else <stem>.png; encoded
            // in the format its name says.
            String extension = e.getKey().substring(e.getKey().lastIndexOf('.'));
            boolean keepsName = extension.matches("(?i)\\.(jpe?g|png)");
            Path visualisation = out.resolve(stem + (keepsName ? extension : ".png"));
            try (var vis = function.decoder().decode(Files.readAllBytes(visualisation))) {
                assertEquals(2 * width, vis.width(), stem);
                assertEquals(height, vis.height(), stem);
                assertEquals(extension.matches("(?i)\\.jpe?g") ? ImageFormat.JPEG : ImageFormat.PNG, vis.format(), stem);
            }
            JsonNode summary = json.readTree(out.resolve(stem + ".json").toFile());
            assertEquals(width, summary.get("width").asInt());
            assertEquals("sapiens-palette-demo", summary.get("model").get("name").asText());
            assertTrue(summary.get("classes").size() > 1);
            assertTrue(summary.get("timings").get("total").asDouble() > 0);
        }
        assertFalse(Files.exists(out.resolve("broken.npy")));
        assertFalse(Files.exists(out.resolve("notes.npy")));
        try (var files = Files.walk(out)) {
            assertTrue(files.noneMatch(p -> p.getFileName().toString().endsWith(".tmp")));
        }
    }

    @Test
    void numpyLoadsTheFilesAsSapiensToolsDo() throws Exception {
        Path in = dir.resolve("in");
        Files.createDirectories(in);
        Files.copy(SampleImages.FIGURE_JPG, in.resolve("person.jpg"));
        Path out = dir.resolve("out");
        assertEquals(0, segment("--model", FixtureModels.PALETTE_DEMO.toString(), "--input", in.toString(),
                "--output", out.toString()).status());
        // What Sapiens' depth/normal demos do with --seg_dir: np.load the mask and use it as a boolean mask.
        String script = String.join("\n",
                "import numpy as np, sys",
                "mask = np.load(sys.argv[1]); seg = np.load(sys.argv[2])",
                "assert mask.dtype == np.bool_ and mask.shape == (640, 480), (mask.dtype, mask.shape)",
                "assert seg.dtype == np.int64 and seg.shape == (640, 480), (seg.dtype, seg.shape)",
                "assert (mask == (seg > 0)).all()",
                "print(int(seg.max()), int(mask.sum()))");
        Process python = new ProcessBuilder(System.getProperty("sapiens.test.python", "python3"), "-c", script,
                out.resolve("person.npy").toString(), out.resolve("person_seg.npy").toString())
                .redirectErrorStream(true).start();
        String output = new String(python.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, python.waitFor(), output);
        assertTrue(output.trim().matches("2[0-7] \\d+"), output);
    }

    @Test
    void rerunSkipsCompleteOutputsAndRedoesChangedOrForced() throws Exception {
        Path in = mixedFolder();
        Path out = dir.resolve("out");
        String[] args = {"--model", FixtureModels.PALETTE_DEMO.toString(), "--input", in.toString(), "--output",
                out.toString(), "--progress", "log"};
        assertEquals(SegmentCommand.FAILURES, segment(args).status());
        Run again = segment(args);
        assertTrue(again.out().startsWith("segmented 0, skipped 8 (outputs complete), failed 1"), again.out());

        // A changed picture is redone; so is one whose outputs are incomplete.
        Files.setLastModifiedTime(in.resolve("c.jpeg"), FileTime.from(Instant.now().plusSeconds(60)));
        Files.delete(out.resolve("trip/d_seg.png"));
        Run partial = segment(args);
        assertTrue(partial.out().startsWith("segmented 2, skipped 6"), partial.out());

        String[] forced = java.util.Arrays.copyOf(args, args.length + 1);
        forced[args.length] = "--force";
        assertTrue(segment(forced).out().startsWith("segmented 8, skipped 0"));
    }

    @Test
    void listFileInputWritesFlatAndReportsMissingEntries() throws Exception {
        Path in = mixedFolder();
        Path list = in.resolve("list.txt");
        Files.writeString(list, "# pictures to do\na.jpg\ntrip/d.webp\n\nmissing.jpg\nnotes.txt\n");
        Path out = dir.resolve("flat");
        Run run = segment("--model", FixtureModels.PALETTE_DEMO.toString(), "--input", list.toString(), "--output",
                out.toString());
        assertEquals(SegmentCommand.FAILURES, run.status());
        assertTrue(run.out().startsWith("segmented 2, skipped 0 (outputs complete), failed 2"), run.out());
        assertTrue(run.out().contains("missing.jpg: no such file"), run.out());
        assertTrue(Files.exists(out.resolve("a_seg.npy")));
        assertTrue(Files.exists(out.resolve("d_seg.npy")));
        assertTrue(Files.exists(out.resolve("d.png")), "the WebP's visualisation is a PNG");
    }

    @Test
    void outputsChooseTheFilesWritten() throws Exception {
        Path in = dir.resolve("in");
        Files.createDirectories(in);
        Files.copy(SampleImages.FIGURE_JPG, in.resolve("person.jpg"));
        Path out = dir.resolve("out");
        String[] args = {"--model", FixtureModels.PALETTE_DEMO.toString(), "--input", in.toString(), "--output",
                out.toString(), "--outputs", "mask-npy, overlay"};
        assertEquals(0, segment(args).status());
        try (var files = Files.list(out)) {
            assertEquals(List.of("person.jpg", "person.json", "person.npy"),
                    files.map(f -> f.getFileName().toString()).sorted().toList());
        }
        assertTrue(segment(args).out().startsWith("segmented 0, skipped 1"), "the chosen set is complete");
        // Asking for more later redoes the picture: its set is no longer complete.
        String[] more = java.util.Arrays.copyOf(args, args.length);
        more[more.length - 1] = "class-npy";
        assertTrue(segment(more).out().startsWith("segmented 1, skipped 0"));
        assertTrue(Files.exists(out.resolve("person_seg.npy")));

        Run old = segment("--model", FixtureModels.PALETTE_DEMO.toString(), "--input", in.toString(), "--output",
                out.toString(), "--outputs", "mask");
        assertEquals(SegmentCommand.CANNOT_RUN, old.status());
        assertTrue(old.err().contains("invalid --outputs") && old.err().contains("class-png"), old.err());
    }

    /**
     * --select and --invert: the cutout and the selection mask agree with the class ids of the same run to the pixel;
     * another selection later makes the outputs incomplete (the summary records which one they show); a selection the
     * model's classes cannot meet stops the run before any picture.
     */
    @Test
    void selectionsWriteAMaskAndACutout() throws Exception {
        Path in = dir.resolve("in");
        Files.createDirectories(in);
        Files.copy(SampleImages.FIGURE_JPG, in.resolve("person.jpg"));
        Path out = dir.resolve("out");
        String[] args = {"--model", FixtureModels.PALETTE_DEMO.toString(), "--input", in.toString(), "--output",
                out.toString(), "--outputs", "class-npy,selection-mask,cutout", "--select", "face+hair", "--invert"};
        Run run = segment(args);
        assertEquals(0, run.status(), run.err());
        long[] ids = Npy.read(out.resolve("person_seg.npy")).values();
        BufferedImage mask = ImageIO.read(out.resolve("person_selection.png").toFile());
        BufferedImage cutout = ImageIO.read(out.resolve("person_cutout.png").toFile());
        try (var decoded = new ImageDecoder(new ImageLimits(Long.MAX_VALUE, 100_000_000))
                .decode(Files.readAllBytes(SampleImages.FIGURE_JPG))) {
            // the same decoder the run used (a JPEG's pixels depend on the decoder): compare in BGR order
            int w = decoded.width();
            java.nio.ByteBuffer bgr = decoded.bgr().data().capacity((long) w * decoded.height() * 3).asByteBuffer();
            List<Integer> face = List.of(2, 3, 23, 24, 25, 26, 27);
            long selected = 0;
            for (int y = 0; y < decoded.height(); y++) {
                for (int x = 0; x < w; x++) {
                    int id = (int) ids[y * w + x];
                    boolean kept = !face.contains(id);
                    assertEquals(kept ? 255 : 0, mask.getRaster().getSample(x, y, 0));
                    assertEquals(kept ? 255 : 0, cutout.getRaster().getSample(x, y, 3));
                    for (int c = 0; c < 3; c++) {
                        int expected = kept ? bgr.get(3 * (y * w + x) + 2 - c) & 0xFF : 0;
                        assertEquals(expected, cutout.getRaster().getSample(x, y, c), x + "," + y);
                    }
                    selected += kept ? 1 : 0;
                }
            }
            JsonNode summary = new ObjectMapper().readTree(out.resolve("person.json").toFile()).get("selection");
            assertEquals("face+hair", summary.get("expression").asText());
            assertTrue(summary.get("invert").asBoolean());
            assertEquals(selected, summary.get("pixels").asLong());
        }
        assertTrue(segment(args).out().startsWith("segmented 0, skipped 1"), "the same selection is complete");
        String[] other = java.util.Arrays.copyOf(args, args.length - 1);
        other[other.length - 1] = "clothing";
        assertTrue(segment(other).out().startsWith("segmented 1, skipped 0"), "another selection redoes the picture");

        Run bad = segment("--model", FixtureModels.PALETTE_DEMO.toString(), "--input", in.toString(), "--output",
                out.toString(), "--select", "eyeglass");
        assertEquals(SegmentCommand.CANNOT_RUN, bad.status());
        assertTrue(bad.err().contains("invalid --select") && bad.err().contains("goliath-28"), bad.err());
    }

    /** A dynamically quantized preset on CUDA is refused before anything is downloaded, naming what runs there. */
    @Test
    void cpuOnlyPresetsAreRefusedOnCuda() throws Exception {
        Path in = dir.resolve("in");
        Files.createDirectories(in);
        Files.copy(SampleImages.FIGURE_JPG, in.resolve("person.jpg"));
        Run run = segment("--preset", "hf-0.3b-int8", "--provider", "cuda", "--input", in.toString(), "--output",
                dir.resolve("out").toString(), "--cache-dir", dir.resolve("cache").toString());
        assertEquals(SegmentCommand.CANNOT_RUN, run.status());
        assertTrue(run.err().contains("runs on the CPU only") && run.err().contains("hf-0.3b-q4"), run.err());
        assertFalse(Files.exists(dir.resolve("cache").resolve("hf")), "nothing downloaded");
    }

    @Test
    void fixedBatchModelsLimitTheBatch() throws Exception {
        Path in = mixedFolder();
        Files.delete(in.resolve("broken.jpg"));
        Path fixed = ModelFiles.write(dir, "fixed2.onnx", FixtureModels.palette(Dim.of(2), 28, true, true, "fixed2"));
        Run run = segment("--model", fixed.toString(), "--input", in.toString(), "--output", dir.resolve("o").toString(),
                "--batch-size", "8", "--jobs", "2");
        assertEquals(0, run.status(), run.out() + run.err());
        assertTrue(run.err().contains("2 session(s), batch 2"), run.err());
        byte[] expected = Pipelines.segment(function, Files.readAllBytes(in.resolve("trip/day1/f.bmp")), EnumSet.of(OutputKind.CLASS_PNG)).classMap();
        long[] written = Npy.read(dir.resolve("o/trip/day1/f_seg.npy")).values();
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], written[i]);
        }
    }

    @Test
    void refusesToStartWithAClearReason() throws Exception {
        Path in = mixedFolder();
        String model = FixtureModels.PALETTE_DEMO.toString();
        Run missingOption = segment("--input", in.toString(), "--output", dir.resolve("o").toString());
        assertEquals(SegmentCommand.CANNOT_RUN, missingOption.status());
        assertTrue(missingOption.err().contains("--model"), missingOption.err());

        Run sameFolder = segment("--model", model, "--input", in.toString(), "--output", in.toString());
        assertEquals(SegmentCommand.CANNOT_RUN, sameFolder.status());
        assertTrue(sameFolder.err().contains("--output must differ from --input"), sameFolder.err());

        Path empty = Files.createDirectories(dir.resolve("empty"));
        Run nothing = segment("--model", model, "--input", empty.toString(), "--output", dir.resolve("o").toString());
        assertEquals(SegmentCommand.CANNOT_RUN, nothing.status());
        assertTrue(nothing.err().contains("no pictures"), nothing.err());

        Run noModel = segment("--model", dir.resolve("nope.onnx").toString(), "--input", in.toString(), "--output",
                dir.resolve("o").toString());
        assertEquals(SegmentCommand.CANNOT_RUN, noModel.status());
        assertTrue(noModel.err().contains("cannot load the model: model file not found"), noModel.err());
    }

    @Test
    void downloadsTheModelOnceIntoTheCacheAndChecksIt() throws Exception {
        Path in = Files.createDirectories(dir.resolve("one"));
        try (Mat figure = SampleImages.figure()) {
            Files.write(in.resolve("a.jpg"), TestImages.jpeg(figure));
        }
        byte[] demo = Files.readAllBytes(FixtureModels.PALETTE_DEMO);
        try (ModelServer server = new ModelServer().file("/m/demo.onnx", demo)) {
            String url = server.url("/m/demo.onnx");
            Path cache = dir.resolve("cache");
            Run first = segment("--model", url, "--cache-dir", cache.toString(), "--input", in.toString(), "--output",
                    dir.resolve("o1").toString());
            assertEquals(0, first.status(), first.err());
            Run second = segment("--model", url, "--cache-dir", cache.toString(), "--input", in.toString(), "--output",
                    dir.resolve("o2").toString());
            assertEquals(0, second.status(), second.err());
            assertEquals(1, server.requests("/m/demo.onnx"), "the second run uses the cache");
            assertArrayEquals(Files.readAllBytes(dir.resolve("o1/a_seg.npy")), Files.readAllBytes(dir.resolve("o2/a_seg.npy")));

            Run wrongSha = segment("--model", url, "--sha256", "00".repeat(32), "--cache-dir",
                    dir.resolve("cache2").toString(), "--input", in.toString(), "--output", dir.resolve("o3").toString());
            assertEquals(SegmentCommand.CANNOT_RUN, wrongSha.status());
            assertTrue(wrongSha.err().contains("SHA-256 mismatch"), wrongSha.err());
        }
        Run presetWithoutFile = segment("--preset", "lite-1b", "--input", in.toString(), "--output",
                dir.resolve("o4").toString());
        assertEquals(SegmentCommand.CANNOT_RUN, presetWithoutFile.status());
        assertTrue(presetWithoutFile.err().contains("set --model to the file made by deploy/export"),
                presetWithoutFile.err());
    }

    @Test
    void readsS3ModelsFromAnS3CompatibleEndpoint() throws Exception {
        Path in = Files.createDirectories(dir.resolve("s3in"));
        try (Mat figure = SampleImages.figure()) {
            Files.write(in.resolve("a.jpg"), TestImages.jpeg(figure));
        }
        S3ProxyResource s3 = new S3ProxyResource();
        s3.start();
        // The default AWS credential chain reads these system properties (as it reads AWS_ACCESS_KEY_ID…).
        System.setProperty("aws.accessKeyId", S3ProxyResource.ACCESS_KEY);
        System.setProperty("aws.secretAccessKey", S3ProxyResource.SECRET_KEY);
        try (S3Client client = S3ProxyResource.client()) {
            client.createBucket(b -> b.bucket("models"));
            client.putObject(b -> b.bucket("models").key("demo/model.onnx"),
                    RequestBody.fromFile(FixtureModels.PALETTE_DEMO));
            Run run = segment("--model", "s3://models/demo/model.onnx", "--s3-endpoint", S3ProxyResource.endpoint(),
                    "--cache-dir", dir.resolve("s3cache").toString(), "--input", in.toString(), "--output",
                    dir.resolve("s3out").toString());
            assertEquals(0, run.status(), run.err());
            assertTrue(Files.size(dir.resolve("s3out/a_seg.npy")) > 0);
        } finally {
            System.clearProperty("aws.accessKeyId");
            System.clearProperty("aws.secretAccessKey");
            s3.stop();
        }
    }
}
