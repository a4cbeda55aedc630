package dev.sapienseg.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.bytedeco.opencv.opencv_core.Mat;
import org.junit.jupiter.api.Test;

import dev.sapienseg.fixtures.TestImages;
import dev.sapienseg.failure.SegmentationException;

/**
 * OpenCV's own pixel cap, behind the probe. OpenCV reads OPENCV_IO_MAX_IMAGE_PIXELS once, when it loads, and this
 * test JVM loaded it long ago: so the proof runs in a child JVM started with a cap of 10,000 pixels, decoding a
 * 200x200 picture that the decoder's own limit (1 Mpx) accepts. The control child, without the variable, decodes it.
 */
class OpenCvBackstopTest {

    /** The child: decodes a 200x200 PNG (a 2000x2000 BMP with "big") with a 10 Mpx limit and prints the answer. */
    public static void main(String[] args) {
        OpenCvLimits.State state = OpenCvLimits.apply(10_000_000);
        ImageDecoder decoder = new ImageDecoder(new ImageLimits(100_000_000, 10_000_000));
        String answer;
        byte[] encoded;
        if (args.length > 0 && args[0].equals("big")) { // 12 MB: JavaCPP counts the native copy of the input
            encoded = bmp(2000, 2000);
        } else {
            try (Mat picture = TestImages.gradient(200, 200)) {
                encoded = TestImages.png(picture);
            }
        }
        try (DecodedImage image = decoder.decode(encoded)) {
            answer = "decoded " + image.width() + "x" + image.height();
        } catch (SegmentationException e) {
            answer = e.reason().code() + ": " + e.getMessage();
        }
        System.out.println("state=" + state + " answer=" + answer);
    }

    /** An uncompressed 24-bit BMP of zeros, written without OpenCV (the child must not allocate through JavaCPP). */
    static byte[] bmp(int width, int height) {
        int stride = (width * 3 + 3) / 4 * 4;
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(54 + stride * height).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 'B').put((byte) 'M').putInt(b.capacity()).putInt(0).putInt(54);
        b.putInt(40).putInt(width).putInt(height).putShort((short) 1).putShort((short) 24).putInt(0)
                .putInt(stride * height).putInt(2835).putInt(2835).putInt(0).putInt(0);
        return b.array();
    }

    private static String child(Map<String, String> env, String... options) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new java.util.ArrayList<>(List.of(java, "-Xmx256m"));
        command.addAll(List.of(options));
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), OpenCvBackstopTest.class.getName()));
        if (options.length > 0) {
            command.add("big");
        }
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().remove(OpenCvLimits.VARIABLE);
        pb.environment().put("OPENBLAS_NUM_THREADS", "1");
        pb.environment().putAll(env);
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child did not finish");
        String text = new String(out, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), text);
        return text.lines().filter(l -> l.startsWith("state=")).findFirst().orElse(text);
    }

    @Test
    void openCvRefusesAbovePixelCapFromTheEnvironmentAsTooManyPixels() throws Exception {
        String capped = child(Map.of(OpenCvLimits.VARIABLE, "10000"));
        assertTrue(capped.startsWith("state=STRICTER answer=too-many-pixels: PNG image of 200x200 exceeds the pixel "
                + "limit OpenCV was started with"), capped);
        assertTrue(!capped.contains(".cpp"), "no build paths in the answer: " + capped);
        String uncapped = child(Map.of());
        assertEquals("state=LOOSER answer=decoded 200x200", uncapped);
    }

    /**
     * JavaCPP answers a native allocation beyond -Dorg.bytedeco.javacpp.maxBytes with java.lang.OutOfMemoryError:
     * the decoder turns it into a permanent image-too-complex, never an Error escaping as a 500.
     */
    @Test
    void anAllocationFailureWhileDecodingIsAPermanentRefusal() throws Exception {
        String starved = child(Map.of(), "-Dorg.bytedeco.javacpp.maxBytes=8m", "-Dorg.bytedeco.javacpp.maxRetries=0");
        assertTrue(starved.contains("answer=image-too-complex: decoding the BMP image of 2000x2000 ran out of memory"),
                starved);
        assertEquals("state=LOOSER answer=decoded 2000x2000", child(Map.of(), "-Dorg.bytedeco.javacpp.maxBytes=1g"));
    }

    @Test
    void comparesTheEnvironmentWithTheConfiguredLimit() {
        assertEquals(OpenCvLimits.State.MATCHING, OpenCvLimits.check(Map.of(OpenCvLimits.VARIABLE, "50000000"), 50_000_000));
        assertEquals(OpenCvLimits.State.LOOSER, OpenCvLimits.check(Map.of(), 50_000_000));
        assertEquals(OpenCvLimits.State.LOOSER, OpenCvLimits.check(Map.of(OpenCvLimits.VARIABLE, "x"), 50_000_000));
        assertEquals(OpenCvLimits.State.STRICTER, OpenCvLimits.check(Map.of(OpenCvLimits.VARIABLE, "100"), 50_000_000));
        assertEquals(OpenCvLimits.VARIABLE, "OPENCV_IO_MAX_IMAGE_PIXELS");
    }
}
