package dev.sapienseg.bench;

import static org.bytedeco.opencv.global.opencv_core.CV_8UC1;
import static org.bytedeco.opencv.global.opencv_imgcodecs.IMREAD_COLOR;
import static org.bytedeco.opencv.global.opencv_imgcodecs.imdecode;
import static org.bytedeco.opencv.global.opencv_imgcodecs.imencode;
import static org.bytedeco.opencv.global.opencv_imgproc.INTER_LINEAR;
import static org.bytedeco.opencv.global.opencv_imgproc.resize;

import java.lang.management.ManagementFactory;
import java.util.Arrays;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.opencv.opencv_core.Mat;
import org.bytedeco.opencv.opencv_core.Size;

import dev.sapienseg.fixtures.FixtureModels;
import dev.sapienseg.image.ImageDecoder;
import dev.sapienseg.image.ImageLimits;
import dev.sapienseg.model.ModelSettings;
import dev.sapienseg.model.Normalization;
import dev.sapienseg.model.SegmentationModel;
import dev.sapienseg.pipeline.Logits;
import dev.sapienseg.pipeline.Preprocessor;
import dev.sapienseg.pipeline.TensorBuffers;
import dev.sapienseg.pipeline.UpsampleArgmax;

/**
 * The part of serving a picture that no server can avoid, done by OpenCV alone on one thread: decode the JPEG,
 * resize it to the model's 1024×768, and PNG-encode a class map of the picture's size. The class map is the palette
 * demo model's answer for that picture (computed once, outside the measure), so the PNG compresses what the server's
 * does. The floor is the median thread CPU time over {@code runs}.
 */
final class OpenCvFloor {

    private OpenCvFloor() {
    }

    /** Median CPU milliseconds of decode + resize + class-map PNG for {@code jpeg}. */
    static double millis(byte[] jpeg, int runs) throws Exception {
        byte[] classes = paletteDemoClassMap(jpeg);
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        double[] cpu = new double[runs];
        for (int i = -3; i < runs; i++) { // three warm-ups
            long start = threads.getCurrentThreadCpuTime();
            try (BytePointer bytes = new BytePointer(jpeg); Mat buffer = new Mat(1, jpeg.length, CV_8UC1, bytes);
                    Mat bgr = imdecode(buffer, IMREAD_COLOR); Mat input = new Mat()) {
                resize(bgr, input, new Size(768, 1024), 0, 0, INTER_LINEAR);
                try (Mat map = new Mat(bgr.rows(), bgr.cols(), CV_8UC1); BytePointer png = new BytePointer()) {
                    map.data().capacity(classes.length).asByteBuffer().put(classes);
                    imencode(".png", map, png);
                }
            }
            if (i >= 0) {
                cpu[i] = (threads.getCurrentThreadCpuTime() - start) / 1e6;
            }
        }
        Arrays.sort(cpu);
        return cpu[runs / 2];
    }

    private static byte[] paletteDemoClassMap(byte[] jpeg) throws Exception {
        ImageDecoder decoder = new ImageDecoder(new ImageLimits(100_000_000, 100_000_000));
        try (SegmentationModel model = SegmentationModel.load(ModelSettings.cpu(FixtureModels.PALETTE_DEMO))) {
            var contract = model.contract();
            TensorBuffers buffers = new TensorBuffers(model, 1);
            int width;
            int height;
            try (var image = decoder.decode(jpeg)) {
                buffers.write(new Preprocessor(contract.inputHeight(), contract.inputWidth(), Normalization.LITE),
                        image, 0);
                width = image.width();
                height = image.height();
            }
            buffers.run(model, 1);
            Logits logits = new Logits(buffers.output(), 0, contract.classes(), contract.outputHeight(),
                    contract.outputWidth());
            return UpsampleArgmax.classMap(logits, height, width);
        }
    }
}
