package dev.sapienseg.bench;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import dev.sapienseg.batch.BatchInputs;
import dev.sapienseg.batch.BatchOutputs;
import dev.sapienseg.batch.BatchRunner;
import dev.sapienseg.batch.InputImage;
import dev.sapienseg.batch.Progress;
import dev.sapienseg.fixtures.FixtureModels;
import dev.sapienseg.image.DecodedImage;
import dev.sapienseg.image.ImageDecoder;
import dev.sapienseg.image.ImageLimits;
import dev.sapienseg.model.ModelSettings;
import dev.sapienseg.model.SegmentationModel;
import dev.sapienseg.report.SegmentationReport;
import dev.sapienseg.model.Normalization;
import dev.sapienseg.pipeline.Postprocessor;
import dev.sapienseg.pipeline.Preprocessor;
import dev.sapienseg.output.OutputEncoder;
import dev.sapienseg.output.OutputLayout;
import dev.sapienseg.pipeline.Segmentation;
import dev.sapienseg.pipeline.TensorBuffers;

/**
 * Images/s of the batch command on a folder of 1080p JPEGs with the tiny ViT fixture: a sequential loop over the same
 * units (decode → preprocess → infer → post-process → write, one picture at a time, as Sapiens' demo loop does)
 * against the pipelined {@link BatchRunner}, alternating in one run. Not a test:
 *
 * <pre>
 * mvn -q test-compile exec:java -Dexec.classpathScope=test -Dexec.mainClass=dev.sapienseg.bench.BatchBenchmark \
 *     -Dexec.args="24 3"
 * </pre>
 */
public final class BatchBenchmark {

    public static void main(String[] args) throws Exception {
        int pictures = args.length > 0 ? Integer.parseInt(args[0]) : 24;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        Path work = Files.createTempDirectory("sapiens-batch-bench");
        Path in = Files.createDirectories(work.resolve("in"));
        for (int i = 0; i < pictures; i++) {
            Files.write(in.resolve(String.format("photo%03d.jpg", i)), StageBenchmark.photoLikeJpeg(1920, 1080, i));
        }
        List<InputImage> images = BatchInputs.collect(in, work.resolve("out")).images();
        ImageDecoder decoder = new ImageDecoder(new ImageLimits(Long.MAX_VALUE, 100_000_000));
        int cores = Runtime.getRuntime().availableProcessors();
        System.out.printf("%d pictures 1920x1080 JPEG, model %s, %d cores, %d rounds%n", pictures,
                FixtureModels.TINY_VIT, cores, rounds);
        // intra-op 0: ONNX Runtime takes every core, as on a CPU-only node. intra-op 1: inference leaves a core to the
        // rest, standing in for a GPU node where inference does not run on host cores.
        for (int intraOp : new int[] {0, 1}) {
            ModelSettings settings = new ModelSettings(FixtureModels.TINY_VIT, 1024, 768,
                    dev.sapienseg.model.ExecutionProvider.CPU, 0, java.util.Map.of(), true, intraOp, 0);
            try (SegmentationModel model = SegmentationModel.load(settings)) {
                double[] loop = new double[rounds];
                double[] pipelined = new double[rounds];
                for (int r = -1; r < rounds; r++) { // round -1 warms up both
                    Path out = work.resolve("out" + intraOp + "-" + r);
                    double a = loop(model, decoder, images, new BatchOutputs(out.resolve("loop")));
                    double b = pipelined(model, decoder, images, new BatchOutputs(out.resolve("pipelined")));
                    if (r >= 0) {
                        loop[r] = pictures / a;
                        pipelined[r] = pictures / b;
                    }
                }
                double l = median(loop);
                double p = median(pipelined);
                System.out.printf("%ninference threads: %s%n", intraOp == 0 ? "all cores" : "1");
                System.out.printf("| mode | images/s (median of %d) | all rounds |%n|---|---|---|%n", rounds);
                System.out.printf("| sequential loop | %.2f | %s |%n", l, round(loop));
                System.out.printf("| pipelined batch command (batch 4) | %.2f | %s |%n", p, round(pipelined));
                System.out.printf("speed-up: %.2fx%n", p / l);
            }
        }
    }

    /** One picture at a time through the same units. Returns seconds. */
    static double loop(SegmentationModel model, ImageDecoder decoder, List<InputImage> images, BatchOutputs outputs)
            throws Exception {
        Preprocessor preprocessor = new Preprocessor(model.contract().inputHeight(), model.contract().inputWidth(),
                Normalization.LITE);
        Postprocessor postprocessor = new Postprocessor(model.contract());
        TensorBuffers buffers = new TensorBuffers(model, 1);
        long start = System.nanoTime();
        for (InputImage image : images) {
            try (DecodedImage decoded = decoder.decode(Files.readAllBytes(image.source()))) {
                preprocessor.write(decoded, buffers.input(), 0);
                buffers.run(model, 1);
                Postprocessor.ClassMap map = postprocessor.apply(buffers.output(), 0, decoded.width(),
                        decoded.height());
                Segmentation segmentation = new Segmentation(decoded.width(), decoded.height(), decoded.format(),
                        postprocessor.classNames(), map.ids(), map.statistics(), null,
                        OutputEncoder.encode(outputs.plan(), decoded, map.ids(), map.statistics(), null, null,
                                OutputLayout.overlayFormat(image.extension()), postprocessor.vocabulary()).files(),
                        1, null, dev.sapienseg.shapes.PictureShapes.NONE, dev.sapienseg.output.Edges.HARD);
                outputs.write(image, segmentation, SegmentationReport.summary(image.label(), segmentation, model,
                        Normalization.LITE));
            }
        }
        return (System.nanoTime() - start) / 1e9;
    }

    static double pipelined(SegmentationModel model, ImageDecoder decoder, List<InputImage> images,
            BatchOutputs outputs) throws Exception {
        int cores = Runtime.getRuntime().availableProcessors();
        BatchRunner runner = new BatchRunner(List.of(model),
                new BatchRunner.Settings(4, cores, true, Normalization.LITE), decoder, outputs);
        Progress progress = new Progress(images.size(), new PrintStream(PrintStream.nullOutputStream()), false);
        long start = System.nanoTime();
        runner.run(images, progress);
        double seconds = (System.nanoTime() - start) / 1e9;
        if (!progress.failures().isEmpty() || progress.segmentedCount() != images.size()) {
            throw new IllegalStateException("pipelined run did not segment everything: " + progress.failures());
        }
        return seconds;
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    private static List<Double> round(double[] values) {
        List<Double> rounded = new ArrayList<>();
        for (double v : values) {
            rounded.add(Math.round(v * 100) / 100.0);
        }
        return rounded;
    }
}
