package dev.sapienseg.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.opencv.global.opencv_imgcodecs;
import org.bytedeco.opencv.opencv_core.Mat;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import dev.sapienseg.fixtures.StructuralAttacks;
import dev.sapienseg.fixtures.StructuralAttacks.Attack;
import dev.sapienseg.fixtures.StructuralAttacks.Tiff;
import dev.sapienseg.fixtures.TestImages;
import dev.sapienseg.failure.FailureReason;
import dev.sapienseg.failure.SegmentationException;

/**
 * Structural attacks on the decoder, beside the byte flips of the HTTP campaign: pictures whose headers, tables or
 * scans (not their pixel bytes) try to make decoding exceed what the header probe allowed. Real OpenCV decoding.
 * Each refusal is checked for its reason; a differential test checks, for every input the decoder accepts, that the
 * decoded size is the probed size (or its EXIF transpose) within the limits, and that every refusal is a
 * SegmentationException with a 4xx reason, never another exception.
 */
public class StructuralAttackTest {

    private static final long MAX_PIXELS = 50_000_000;
    private static final ImageDecoder DECODER = new ImageDecoder(new ImageLimits(50_000_000, MAX_PIXELS));
    private static final List<String> TABLE = new ArrayList<>();

    /** An attack and the answer it must get (null: a legal picture, decoded at its probed size). */
    public record Case(Attack attack, FailureReason expected) {
    }

    static byte[] progressiveJpeg(Mat picture) {
        try (BytePointer out = new BytePointer();
                IntPointer params = new IntPointer(opencv_imgcodecs.IMWRITE_JPEG_PROGRESSIVE, 1)) {
            opencv_imgcodecs.imencode(".jpg", picture, out, params);
            byte[] b = new byte[(int) out.limit()];
            out.get(b);
            return b;
        }
    }

    private static Attack a(String name, String description, byte[] data) {
        return new Attack(name, description, data);
    }

    /** The attacks that must be refused, with their reason. */
    public static List<Case> refused() {
        List<Case> cases = new ArrayList<>();
        try (Mat g = TestImages.gradient(640, 480)) {
            byte[] jpeg = TestImages.jpeg(g);
            byte[] prog = progressiveJpeg(g);
            byte[] webp = TestImages.encode(g, ImageFormat.WEBP);
            byte[] bmp = TestImages.encode(g, ImageFormat.BMP);
            // TIFF
            cases.add(new Case(a("tiff-dup-size-9000-then-1", "ImageWidth/Length 9000x9000 then 1x1, deflated grey",
                    StructuralAttacks.tiffDuplicateSize(9000, 1)), FailureReason.CORRUPT_IMAGE));
            cases.add(new Case(a("tiff-dup-size-32768-then-1", "ImageWidth/Length 32768x32768 then 1x1 (the OOM)",
                    StructuralAttacks.tiffDuplicateSize(32768, 1)), FailureReason.CORRUPT_IMAGE));
            cases.add(new Case(a("tiff-dup-size-1-then-9000", "1x1 then 9000x9000 (libtiff keeps 1x1)",
                    StructuralAttacks.tiffDuplicateSize(1, 9000)), FailureReason.CORRUPT_IMAGE));
            cases.add(new Case(a("tiff-dup-bits", "BitsPerSample named twice (8 then 16)",
                    new Tiff().picture(16, 16, 1, 8, 1).entry(258, StructuralAttacks.SHORT, 16)
                            .strip(new byte[256]).bytes()), FailureReason.CORRUPT_IMAGE));
            cases.add(new Case(a("tiff-unsorted", "entries out of ascending order (257 before 256)",
                    new Tiff().unsorted().entry(257, StructuralAttacks.LONG, 16).entry(256, StructuralAttacks.LONG, 16)
                            .entry(258, StructuralAttacks.SHORT, 8).entry(259, StructuralAttacks.SHORT, 1)
                            .entry(262, StructuralAttacks.SHORT, 1).strip(new byte[256]).bytes()),
                    FailureReason.CORRUPT_IMAGE));
            cases.add(new Case(a("tiff-2-directories", "two pages", StructuralAttacks.tiffManyDirectories(2)),
                    FailureReason.IMAGE_TOO_COMPLEX));
            cases.add(new Case(a("tiff-5000-directories", "5000 chained directories",
                    StructuralAttacks.tiffManyDirectories(5000)), FailureReason.IMAGE_TOO_COMPLEX));
            cases.add(new Case(a("tiff-tile-8192-on-16x16", "one 8192x8192 16-bit RGBA tile for a 16x16 picture",
                    StructuralAttacks.tiffTileLargerThanPicture(16, 16, 8192, 8192, 4, 16)),
                    FailureReason.IMAGE_TOO_COMPLEX));
            cases.add(new Case(a("tiff-tile-4096-on-16x16", "one 4096x4096 grey tile for a 16x16 picture",
                    StructuralAttacks.tiffTileLargerThanPicture(16, 16, 4096, 4096, 1, 8)),
                    FailureReason.IMAGE_TOO_COMPLEX));
            cases.add(new Case(a("tiff-float32-rgb", "32-bit float RGB 2000x2000",
                    StructuralAttacks.tiffDeep(2000, 2000, 3, 32, 3)), FailureReason.UNSUPPORTED_FORMAT));
            cases.add(new Case(a("tiff-float64-grey", "64-bit float grey 2000x2000",
                    StructuralAttacks.tiffDeep(2000, 2000, 1, 64, 3)), FailureReason.UNSUPPORTED_FORMAT));
            cases.add(new Case(a("tiff-uint64-rgb", "64-bit integer RGB 1000x1000",
                    StructuralAttacks.tiffDeep(1000, 1000, 3, 64, 1)), FailureReason.UNSUPPORTED_FORMAT));
            cases.add(new Case(a("tiff-16bit-16-samples-5000x5000", "16-bit, 16 samples per pixel, 25 Mpx: 800 MB a strip",
                    StructuralAttacks.tiffDeep(5000, 5000, 16, 16, 1)), FailureReason.TOO_MANY_PIXELS));
            cases.add(new Case(a("tiff-strip-outside-file", "StripOffsets beyond the end of the file",
                    new Tiff().picture(16, 16, 1, 8, 1).entry(273, StructuralAttacks.LONG, 1 << 30)
                            .entry(279, StructuralAttacks.LONG, 256).bytes()), FailureReason.CORRUPT_IMAGE));
            // JPEG
            cases.add(new Case(a("png-ihdr-4294967295-squared", "IHDR 0xFFFFFFFF x 0xFFFFFFFF (pixels overflow a long)",
                    TestImages.pngHeaderDeclaring(0xFFFFFFFFL, 0xFFFFFFFFL)), FailureReason.TOO_MANY_PIXELS));
            cases.add(new Case(a("tiff-size-4294967295-squared", "ImageWidth/Length 0xFFFFFFFF, 0xFFFFFFFF",
                    new Tiff().picture(0xFFFFFFFFL, 0xFFFFFFFFL, 1, 8, 1).strip(new byte[16]).bytes()),
                    FailureReason.TOO_MANY_PIXELS));
            cases.add(new Case(a("jpeg-1000-scans", "progressive 640x480 with 1000 scans",
                    StructuralAttacks.jpegManyScans(prog, 1000)), FailureReason.IMAGE_TOO_COMPLEX));
            cases.add(new Case(a("jpeg-110-scans", "progressive 640x480 with just over 100 scans",
                    StructuralAttacks.jpegManyScans(prog, 110)), FailureReason.IMAGE_TOO_COMPLEX));
            cases.add(new Case(a("jpeg-second-sof-9000", "second SOF declaring 9000x9000",
                    StructuralAttacks.jpegSecondSof(jpeg, 9000, 9000)), FailureReason.CORRUPT_IMAGE));
            cases.add(new Case(a("jpeg-dnl", "DNL marker before EOI", StructuralAttacks.jpegWithDnl(jpeg, 100)),
                    FailureReason.CORRUPT_IMAGE));
            cases.add(new Case(a("jpeg-sof-lies-60000x60000", "SOF declaring 60000x60000 over 640x480 data",
                    StructuralAttacks.jpegLyingSof(jpeg, 60000, 60000)), FailureReason.TOO_MANY_PIXELS));
            // PNG
            cases.add(new Case(a("png-two-ihdr-small-first", "IHDR 8x8 then IHDR 30000x30000",
                    StructuralAttacks.pngTwoIhdr(8, 30000, false)), FailureReason.CORRUPT_IMAGE));
            cases.add(new Case(a("png-two-ihdr-huge-first", "IHDR 30000x30000 then IHDR 8x8",
                    StructuralAttacks.pngTwoIhdr(8, 30000, true)), FailureReason.CORRUPT_IMAGE));
            cases.add(new Case(a("apng-frame-9000-on-640x480", "fcTL frame larger than the canvas",
                    StructuralAttacks.apng(g, 9000, 9000, 0, 0)), FailureReason.CORRUPT_IMAGE));
            cases.add(new Case(a("apng-frame-offset-outside", "fcTL frame offset past the canvas",
                    StructuralAttacks.apng(g, 640, 480, 100, 100)), FailureReason.CORRUPT_IMAGE));
            // WebP
            cases.add(new Case(a("webp-vp8x-9000-around-640x480", "VP8X canvas larger than the frame",
                    StructuralAttacks.webpVp8xAround(webp, 9000, 9000, false)), FailureReason.CORRUPT_IMAGE));
            cases.add(new Case(a("webp-vp8x-64-around-640x480", "VP8X canvas smaller than the frame",
                    StructuralAttacks.webpVp8xAround(webp, 64, 48, false)), FailureReason.CORRUPT_IMAGE));
            cases.add(new Case(a("webp-animated-9000-canvas", "ANIM/ANMF, 9000x9000 canvas, one 640x480 frame",
                    StructuralAttacks.webpVp8xAround(webp, 9000, 9000, true)), FailureReason.UNSUPPORTED_FORMAT));
            // BMP
            cases.add(new Case(a("bmp-negative-width", "width -640", StructuralAttacks.bmpWithSize(bmp, -640, 480)),
                    FailureReason.CORRUPT_IMAGE));
            cases.add(new Case(a("bmp-height-min-int", "height Integer.MIN_VALUE",
                    StructuralAttacks.bmpWithSize(bmp, 640, Integer.MIN_VALUE)), FailureReason.CORRUPT_IMAGE));
            cases.add(new Case(a("bmp-height-100000", "640x100000 with 640x480 of pixel data",
                    StructuralAttacks.bmpWithSize(bmp, 640, 100000)), FailureReason.CORRUPT_IMAGE));
            cases.add(new Case(a("bmp-zero-height", "height 0", StructuralAttacks.bmpWithSize(bmp, 640, 0)),
                    FailureReason.CORRUPT_IMAGE));
        }
        return cases;
    }

    /** Legal pictures of unusual structure: must decode at their probed size. */
    public static List<Case> accepted() {
        List<Case> cases = new ArrayList<>();
        try (Mat g = TestImages.gradient(640, 480); Mat small = TestImages.gradient(120, 90)) {
            byte[] jpeg = TestImages.jpeg(g);
            byte[] webp = TestImages.encode(g, ImageFormat.WEBP);
            byte[] bmp = TestImages.encode(g, ImageFormat.BMP);
            for (ImageFormat format : ImageFormat.values()) {
                cases.add(new Case(a("plain-" + format, "OpenCV-encoded 640x480", TestImages.encode(g, format)), null));
            }
            cases.add(new Case(a("jpeg-progressive-100-scans", "progressive 640x480, exactly 100 scans",
                    StructuralAttacks.jpegManyScans(progressiveJpeg(g), 100)), null));
            cases.add(new Case(a("jpeg-sof-lies-8000x6000", "SOF declaring 8000x6000 over 640x480 data",
                    StructuralAttacks.jpegLyingSof(jpeg, 8000, 6000)), null));
            cases.add(new Case(a("jpeg-sof-lies-64x48", "SOF declaring 64x48 over 640x480 data",
                    StructuralAttacks.jpegLyingSof(jpeg, 64, 48)), null));
            for (int orientation = 1; orientation <= 8; orientation++) {
                cases.add(new Case(a("jpeg-exif-" + orientation, "EXIF orientation " + orientation,
                        TestImages.withExifOrientation(TestImages.jpeg(small), orientation)), null));
            }
            cases.add(new Case(a("tiff-orientation-6", "TIFF Orientation tag 274 = 6",
                    new Tiff().picture(120, 90, 1, 8, 1).entry(274, StructuralAttacks.SHORT, 6)
                            .strip(new byte[120 * 90]).bytes()), null));
            cases.add(new Case(a("tiff-rows-per-strip-huge", "RowsPerStrip 8388608 on 16x16 (clamped by libtiff)",
                    StructuralAttacks.tiffStripTallerThanPicture(16, 16, 1 << 23)), null));
            cases.add(new Case(a("tiff-tile-256-on-16x16", "a standard 256x256 tile on a thumbnail",
                    StructuralAttacks.tiffTileLargerThanPicture(16, 16, 256, 256, 3, 8)), null));
            cases.add(new Case(a("tiff-16bit-rgba-2000", "16-bit RGBA 2000x2000, one strip",
                    StructuralAttacks.tiffDeep(2000, 2000, 4, 16, 1)), null));
            cases.add(new Case(a("png-16bit", "16-bit RGB PNG", TestImages.png16(64, 48, new int[] {1, 2, 3})), null));
            cases.add(new Case(a("png-idat-oversized", "IHDR 8x8, one IDAT inflating to 50 MB of zeros",
                    StructuralAttacks.pngOversizedIdat(50_000_000)), null));
            cases.add(new Case(a("png-idat-endless", "8x8 followed by 20000 extra IDAT chunks (20 MB)",
                    StructuralAttacks.pngManyIdat(20000)), null));
            cases.add(new Case(a("apng-frame-fits", "APNG, frame = canvas", StructuralAttacks.apng(g, 640, 480, 0, 0)),
                    null));
            cases.add(new Case(a("webp-vp8x-matching", "VP8X canvas = frame",
                    StructuralAttacks.webpVp8xAround(webp, 640, 480, false)), null));
            cases.add(new Case(a("bmp-top-down", "negative height (top-down rows)",
                    StructuralAttacks.bmpWithSize(bmp, 640, -480)), null));
        }
        return cases;
    }

    public static long rssKb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("\\D", ""));
                }
            }
        } catch (Exception e) {
            // not Linux: no figure
        }
        return -1;
    }

    /** Decodes, records a table row, and returns the refusal (null when decoded). */
    private static SegmentationException run(Case c) {
        long rss0 = rssKb();
        long t0 = System.nanoTime();
        SegmentationException refusal = null;
        String answer;
        try (DecodedImage image = DECODER.decode(c.attack().data())) {
            ImageHeader header = ImageHeaderProbe.probe(c.attack().data());
            boolean same = image.width() == header.width() && image.height() == header.height();
            boolean transposed = image.width() == header.height() && image.height() == header.width();
            assertTrue(same || transposed, c.attack() + ": decoded " + image.width() + "x" + image.height()
                    + ", probed " + header.width() + "x" + header.height());
            assertTrue((long) image.width() * image.height() <= MAX_PIXELS, c.attack() + ": over the limit");
            answer = "200 decoded " + image.width() + "x" + image.height();
        } catch (SegmentationException e) {
            refusal = e;
            answer = e.reason().httpStatus() + " " + e.reason().code();
            assertTrue(e.reason().httpStatus() >= 400 && e.reason().httpStatus() < 500, c.attack() + ": " + e);
        } catch (Throwable e) {
            fail(c.attack() + " escaped as " + e, e);
            return null;
        }
        long ms = (System.nanoTime() - t0) / 1_000_000;
        long rss1 = rssKb();
        TABLE.add(String.format("| %-34s | %-52s | %9d | %-28s | %5d -> %5d | %6d |", c.attack().name(),
                c.attack().description(), c.attack().data().length, answer, rss0 / 1024, rss1 / 1024, ms));
        return refusal;
    }

    @Test
    void everyStructuralAttackIsRefusedWithItsPermanentReason() {
        for (Case c : refused()) {
            SegmentationException refusal = run(c);
            if (c.expected() == null) {
                assertEquals(null, refusal, c.attack() + " should decode");
                continue;
            }
            assertTrue(refusal != null, c.attack() + " (" + c.attack().description() + ") was decoded");
            assertEquals(c.expected(), refusal.reason(), c.attack() + ": " + refusal.getMessage());
            assertTrue(!refusal.getMessage().contains("/home/") && !refusal.getMessage().contains(".cpp:"),
                    "internal path in " + refusal.getMessage());
        }
    }

    @Test
    void legalPicturesOfUnusualStructureDecodeAtTheirProbedSize() {
        for (Case c : accepted()) {
            SegmentationException refusal = run(c);
            assertEquals(null, refusal, c.attack() + " (" + c.attack().description() + ") was refused: "
                    + (refusal == null ? "" : refusal.getMessage()));
        }
    }

    /** The second line of defence: whatever the probe said, a decode to another size is refused (and freed). */
    @Test
    void aDecodeToAnotherSizeThanProbedIsRefused() {
        byte[] tiff = StructuralAttacks.tiffDuplicateSize(9000, 1);
        SegmentationException e = org.junit.jupiter.api.Assertions.assertThrows(SegmentationException.class,
                () -> DECODER.decode(tiff, new ImageHeader(ImageFormat.TIFF, 1, 1)));
        assertEquals(FailureReason.CORRUPT_IMAGE, e.reason());
        assertTrue(e.getMessage().contains("declare 1x1 but its data decodes to 9000x9000"), e.getMessage());
        try (Mat g = TestImages.gradient(120, 90)) {
            byte[] rotated = TestImages.withExifOrientation(TestImages.jpeg(g), 6);
            try (DecodedImage image = DECODER.decode(rotated, ImageHeaderProbe.probe(rotated))) {
                assertEquals(90, image.width()); // the EXIF transpose is the probed size, oriented
            }
        }
    }

    @Test
    void aDecodePastItsBudgetIsAPermanentRefusal() {
        ImageDecoder hurried = new ImageDecoder(new ImageLimits(50_000_000, MAX_PIXELS, java.time.Duration.ofNanos(1)));
        try (Mat g = TestImages.gradient(640, 480)) {
            SegmentationException e = org.junit.jupiter.api.Assertions.assertThrows(SegmentationException.class,
                    () -> hurried.decode(TestImages.png(g)).close());
            assertEquals(FailureReason.IMAGE_TOO_COMPLEX, e.reason());
            assertTrue(e.getMessage().contains("beyond the budget"), e.getMessage());
            assertEquals(ImageLimits.DEFAULT_DECODE_BUDGET, new ImageLimits(1, 1).decodeBudget());
        }
    }

    /** Mutations of the structural attacks' headers: whatever the decoder accepts matches its probe. */
    @Test
    void differentialOverMutatedStructures() {
        java.util.Random random = new java.util.Random(20261202L);
        List<Case> seeds = new ArrayList<>(accepted());
        seeds.removeIf(c -> c.attack().data().length > 2_000_000);
        int decoded = 0;
        for (int i = 0; i < 400; i++) {
            Case seed = seeds.get(random.nextInt(seeds.size()));
            byte[] data = seed.attack().data().clone();
            int flips = 1 + random.nextInt(4);
            for (int f = 0; f < flips; f++) { // in the headers and tables, where the structure is
                int at = random.nextInt(Math.min(data.length, 512));
                data[at] = random.nextInt(4) == 0 ? (byte) random.nextInt(256) : (byte) (data[at] ^ (1 << random.nextInt(8)));
            }
            long rss0 = rssKb();
            try (DecodedImage image = DECODER.decode(data)) {
                ImageHeader header = ImageHeaderProbe.probe(data);
                boolean same = image.width() == header.width() && image.height() == header.height();
                boolean transposed = image.width() == header.height() && image.height() == header.width();
                assertTrue(same || transposed, seed.attack() + " mutation " + i + ": decoded " + image.width() + "x"
                        + image.height() + ", probed " + header.width() + "x" + header.height());
                assertTrue(header.pixels() <= MAX_PIXELS);
                decoded++;
            } catch (SegmentationException e) {
                assertTrue(e.reason().httpStatus() >= 400 && e.reason().httpStatus() < 500, e.toString());
            } catch (Throwable e) {
                fail(seed.attack() + " mutation " + i + " escaped as " + e, e);
            }
            assertTrue(rssKb() < rss0 + (1L << 20), "RSS grew by more than 1 GB on mutation " + i);
        }
        System.out.println("structural differential: " + decoded + " of 400 mutations decoded at their probed size");
    }

    @AfterAll
    static void printTable() {
        System.out.println("| input | what | bytes | answer | RSS MB before -> after | ms |");
        System.out.println("|---|---|---|---|---|---|");
        TABLE.forEach(System.out::println);
    }
}
